"""Leaderboards ("bảng xếp hạng"): the live board per round in Redis sorted sets, and the final
ranking of a closed round computed from the database (domain.md, "Ranking order")."""
