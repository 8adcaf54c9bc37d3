"""Spreading a contest (issue 19): link previews (Open Graph), QR codes and a printable A4 notice,
invitation links per unit or commune that pre-fill registration and count who came through them,
and a participant's shareable result card."""
