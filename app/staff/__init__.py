"""Authorization and audit: who may do what in a contest (roles), the route dependencies that
check it, and the log of what staff did. Every feature may import this; it imports no feature
but accounts (the users it authorizes) and contests (the contests staff are assigned to)."""
