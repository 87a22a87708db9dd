"""Keys built from strings a game chooses (its player and session ids), joined so that two different tuples of
parts never give the same key.

A separator alone cannot do that when the parts may contain it: /match's `session_id` and `user_id` are free-form
(the seed gives them no pattern, so '#' and ':' are allowed), and `SESSION#<game>#<session>#<user>` made session
"s#1" of player "alice" and session "s" of player "1#alice" one key. Here every part is written as its length in
characters, ':' and the part itself: read from the left, each length says where its part ends, whatever
characters the parts hold.
"""


def length_prefixed(*parts: str) -> str:
    """("s#1", "alice") -> "3:s#15:alice"; ("s", "1#alice") -> "1:s7:1#alice"."""
    return "".join(f"{len(part)}:{part}" for part in parts)
