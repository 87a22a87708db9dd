"""A small game economy with known ground truth, for the offers learning benchmark and its tests.

Players have a latent spending type (non-payer, minnow, dolphin, whale) that sets their base propensity to buy,
their price sensitivity and their taste for item categories; the game only sees a noisy `segment` (the right
type 75% of the time), level, minutes played, platform and days since install. Players progress (level grows
with sessions) and their inventory gaps are the unlocked items they do not own; buying an offer grants its
items, closing those gaps. Offers have a price, 1-3 granted items (and those items' categories), a minimum
level, a level they suit best and a hidden quality.

True P(convert) = sigmoid(base[type] + quality + taste[type][category] - sensitivity[type] * ln(price)
                          + 1.2 * (offer fills a gap) - 0.35 * (log2 level - log2 best level)^2
                          + 0.25 * [ios] + 0.1 * ln(1 + minutes played)).
"""

import math
import random
from dataclasses import dataclass, field

TYPES = ("non-payer", "minnow", "dolphin", "whale")
TYPE_SHARES = (0.55, 0.30, 0.12, 0.03)
SEGMENT_NAMES = {"non-payer": "non-spender", "minnow": "low-spender", "dolphin": "mid-spender", "whale": "whale"}
BASE_LOGIT = {"non-payer": -4.6, "minnow": -2.9, "dolphin": -2.1, "whale": -1.5}
PRICE_SENSITIVITY = {"non-payer": 1.2, "minnow": 0.95, "dolphin": 0.55, "whale": 0.25}
CATEGORIES = ("weapons", "armor", "potions", "gems", "skins", "boosters", "pets", "currency")
PRICES = (0.99, 1.99, 2.99, 4.99, 9.99, 19.99, 49.99, 99.99)
PRICE_WEIGHTS = (3, 3, 2, 3, 3, 2, 1, 1)
ITEMS_PER_CATEGORY = 6
MAX_LEVEL = 80


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


@dataclass(frozen=True, slots=True)
class Item:
    name: str
    category: str
    unlock_level: int


@dataclass(frozen=True, slots=True)
class Offer:
    offer_id: str
    price_usd: float
    items: tuple[str, ...]
    categories: tuple[str, ...]
    min_level: int
    best_level: int
    quality: float

    @property
    def grants(self) -> tuple[str, ...]:
        return self.items + self.categories


@dataclass(slots=True)
class Player:
    player_id: str
    kind: str
    segment: str
    platform: str
    level: int
    sessions: int = 0
    owned: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Session:
    """What the game knows and sends when the player reaches the shop."""

    player_id: str
    session_context: dict
    inventory_gaps: tuple[str, ...]


class World:
    def __init__(self, seed: int, offers: int = 50, players: int = 2000):
        rng = random.Random(seed)
        self.items = [
            Item(f"{category}_{index}", category, 1 + index * 12 + rng.randrange(6))
            for category in CATEGORIES
            for index in range(ITEMS_PER_CATEGORY)
        ]
        self.item_by_name = {item.name: item for item in self.items}
        self.taste = {kind: {c: rng.gauss(0, 0.6) for c in CATEGORIES} for kind in TYPES}
        self.offers = [self._offer(rng, index) for index in range(offers)]
        self.players = [self._player(rng, index) for index in range(players)]

    def _offer(self, rng: random.Random, index: int) -> Offer:
        count = rng.choice((1, 1, 2, 3))
        chosen = sorted(rng.sample(self.items, count), key=lambda item: item.name)
        min_level = min(item.unlock_level for item in chosen)
        return Offer(
            offer_id=f"offer_{index:03d}",
            price_usd=rng.choices(PRICES, PRICE_WEIGHTS)[0],
            items=tuple(item.name for item in chosen),
            categories=tuple(sorted({item.category for item in chosen})),
            min_level=min_level,
            best_level=min(MAX_LEVEL, max(min_level, int(rng.uniform(1, MAX_LEVEL)))),
            quality=rng.gauss(0, 0.5),
        )

    def _player(self, rng: random.Random, index: int) -> Player:
        kind = rng.choices(TYPES, TYPE_SHARES)[0]
        segment = SEGMENT_NAMES[kind] if rng.random() < 0.75 else SEGMENT_NAMES[rng.choice(TYPES)]
        return Player(
            player_id=f"player_{index:05d}",
            kind=kind,
            segment=segment,
            platform=rng.choice(("ios", "android", "android")),
            level=rng.randint(1, 6),
        )

    def copy_players(self) -> list[Player]:
        return [
            Player(p.player_id, p.kind, p.segment, p.platform, p.level, p.sessions, set(p.owned)) for p in self.players
        ]

    def gaps(self, player: Player) -> tuple[str, ...]:
        unlocked = [item for item in self.items if item.unlock_level <= player.level and item.name not in player.owned]
        unlocked.sort(key=lambda item: -item.unlock_level)  # the newest unlocks are what a game would flag
        return tuple(item.name for item in unlocked[:3]) + tuple(sorted({item.category for item in unlocked[:3]}))

    def start_session(self, player: Player, rng: random.Random) -> Session:
        player.sessions += 1
        if rng.random() < 0.5:
            player.level = min(MAX_LEVEL, player.level + rng.choice((1, 1, 2, 3)))
        minutes = int(rng.expovariate(1 / 25))
        context = {
            "level": player.level,
            "minutes_played": minutes,
            "segment": player.segment,
            "platform": player.platform,
            "days_since_install": player.sessions,
        }
        return Session(player.player_id, context, self.gaps(player))

    def eligible(self, player: Player) -> list[Offer]:
        return [offer for offer in self.offers if offer.min_level <= player.level]

    def conversion_probability(self, player: Player, session: Session, offer: Offer) -> float:
        gaps = set(session.inventory_gaps)
        fills_gap = any(item in gaps for item in offer.items)
        taste = max(self.taste[player.kind][c] for c in offer.categories)
        level_misfit = (math.log2(player.level) - math.log2(offer.best_level)) ** 2
        logit = (
            BASE_LOGIT[player.kind]
            + offer.quality
            + taste
            - PRICE_SENSITIVITY[player.kind] * math.log(offer.price_usd)
            + (1.2 if fills_gap else 0.0)
            - 0.35 * level_misfit
            + (0.25 if player.platform == "ios" else 0.0)
            + 0.1 * math.log1p(session.session_context["minutes_played"])
        )
        return sigmoid(logit)

    def purchase(self, player: Player, offer: Offer) -> None:
        player.owned.update(offer.items)
