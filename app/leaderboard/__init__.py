"""Leaderboards ("bảng xếp hạng"): the live board per round in Redis sorted sets, and the final
ranking of a closed round computed from the database (domain.md, "Ranking order").

One idea per file, bottom up:
- ordering.py  the ranking order, and how a result takes its place in a sorted set (score, member)
- ranking.py   attempts read from the database, the final ranking, RankedEntry (the ranked row)
- board.py     a round's board in Redis: key names, scripts, reads and writes, which Redis
- privacy.py   how names are shown, as the organizer chose per round
- rebuild.py   writing the boards from the database: record, rebuild, repair, finalize
- service.py   reading the current board for the API and the page
- schemas.py, routes.py, pages.py  the JSON API and the public page
"""
