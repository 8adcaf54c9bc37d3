"""Background jobs (issue 17): the queue (SAQ), the worker and the job functions."""
