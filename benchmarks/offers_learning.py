"""Offers learning benchmark: revenue per recommendation of the learner vs random, fixed rankings, the oracle
and Vowpal Wabbit's cb_explore_adf, on one simulated game economy (benchmarks/offers_world.py).

Run from the project root:  make bench-learning   (or .venv/bin/python -m benchmarks.offers_learning)
Options: --rounds 50000 --seed 7 --offers 50 --players 2000 [--skip-vw] [--skip-latency]

Every policy plays the same rounds: the same player arrives, with the same session draws and the same uniform
number deciding a purchase (common random numbers), in its own copy of the world (purchases close gaps). One
recommendation per round; the player sees rank 1 (VW's cb_explore_adf chooses a single action).

The learner runs through the API the /v2/recommend and /v1/feedback endpoints call, on moto in-process:
arbiter.learning.store.player_exposures (the player's log: overdue exposures -> store.expire_overdue, and the
purchase history and outcomes -> learning.player_context) -> store.load_model (cached) -> model.recommend ->
store.record_recommendation; feedback -> store.report_outcome (exactly-once transaction).
Feedback is delayed (geometric, mean 20 rounds) and names the recommendation's interaction id (as the README asks
of a game); conversions are always reported, dismissals half of the time;
the rest become `expired` after the window (24 h; the simulated clock advances 60 s per round). The baselines
that learn (VW) get the same outcomes at the same moments. Time is compressed: one round = one minute.

A reference row, not a policy: the same model given every eligible offer's outcome each round (full
information, no delay, ranked by its posterior mean) - the ceiling of this model class on this world; the gap
between it and the learner is what bandit feedback costs.

Reported: cumulative expected revenue per recommendation (true P(convert) x price of the shown offer, which
removes purchase-lottery noise; realized revenue alongside) at each checkpoint, and its ratio to the oracle
and to VW; then learner CPU per recommend at 50 and 500 offers and DynamoDB calls per call.
"""

import benchmarks.offline_aws  # noqa: F401  (first: fake AWS credentials before boto3 loads)

# isort: split

import argparse
import gc
import heapq
import math
import random
import statistics
import sys
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from arbiter import aws, clock
from arbiter.learning import model, store
from arbiter.learning.exposure import DEFAULT_EXPIRY_WINDOW, Exposure, allowed_transition, overdue
from arbiter.learning.features import OfferFeatures, context_features, normalize_gaps
from arbiter.learning.player_context import EVIDENCE_OUTCOMES, player_context
from benchmarks.offers_world import Offer, Player, Session, World

warnings.filterwarnings("ignore")

CHECKPOINTS = (1_000, 10_000, 50_000)
LAST_WINDOW = 10_000
ROUND_SECONDS = 60
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
MEAN_FEEDBACK_DELAY_ROUNDS = 20
DISMISSAL_REPORT_RATE = 0.5
GAME_ID = "bench_game"


@dataclass(frozen=True, slots=True)
class RoundDraws:
    """Everything random about a round that does not depend on the policy."""

    player_index: int
    session_seed: int
    purchase_uniform: float
    feedback_delay: int
    report_dismissal: bool


def draw_rounds(seed: int, rounds: int, players: int) -> list[RoundDraws]:
    rng = random.Random(seed * 7919 + 1)
    # A few players play a lot: activity ~ Zipf-like weights.
    weights = [1.0 / (1 + index) ** 0.6 for index in range(players)]
    indexes = rng.choices(range(players), weights, k=rounds)
    return [
        RoundDraws(
            player_index=indexes[r],
            session_seed=rng.getrandbits(48),
            purchase_uniform=rng.random(),
            feedback_delay=min(2000, int(rng.expovariate(1 / MEAN_FEEDBACK_DELAY_ROUNDS))),
            report_dismissal=rng.random() < DISMISSAL_REPORT_RATE,
        )
        for r in range(rounds)
    ]


class Policy:
    name = "policy"

    def choose(self, round_index: int, player: Player, session: Session, eligible: list[Offer]) -> Offer:
        raise NotImplementedError

    def feedback(self, player_id: str, offer: Offer, outcome: str, token: object) -> None:
        """An outcome reaching the policy (late, as the game would report it)."""

    token: object = None  # what choose() wants back with the outcome


class RandomPolicy(Policy):
    name = "random"

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def choose(self, round_index, player, session, eligible):
        return self.rng.choice(eligible)


class FixedRanking(Policy):
    """Always the first eligible offer of a ranking fixed in advance from the whole population's history."""

    def __init__(self, name: str, ranking: list[str], offers: list[Offer]):
        self.name = name
        self.position = {offer_id: index for index, offer_id in enumerate(ranking)}

    def choose(self, round_index, player, session, eligible):
        return min(eligible, key=lambda offer: self.position[offer.offer_id])


class OraclePolicy(Policy):
    name = "oracle"

    def __init__(self, world: World):
        self.world = world

    def choose(self, round_index, player, session, eligible):
        return max(
            eligible,
            key=lambda o: (self.world.conversion_probability(player, session, o) * o.price_usd, o.offer_id),
        )


def _vw_token(text: str) -> str:
    return text.replace(" ", "_").replace(":", "_").replace("|", "_")


class VowpalWabbitPolicy(Policy):
    """cb_explore_adf with the learner's information: context as shared features, the offer's id, price band,
    ln price and grants as action features, gap match, and context x action interactions (-q ua)."""

    def __init__(self, seed: int, arguments: str):
        import vowpalwabbit

        self.name = f"vw ({arguments})"
        self.vw = vowpalwabbit.Workspace(f"{arguments} --quiet --random_seed {seed}")
        self.rng = random.Random(seed)
        self.max_price = 1.0

    def _example(self, session: Session, eligible: list[Offer]) -> list[str]:
        context = session.session_context
        gaps = set(session.inventory_gaps)
        shared = (
            f"shared |u lvl={int(context['level']).bit_length()} min={int(context['minutes_played']).bit_length()}"
            f" seg={_vw_token(context['segment'])} plat={context['platform']}"
            f" days={int(context['days_since_install']).bit_length()}"
        )
        lines = [shared]
        for offer in eligible:
            grants = " ".join(f"g={_vw_token(g)}" for g in offer.grants)
            gap = " gap" if any(g in gaps for g in offer.grants) else ""
            lines.append(
                f"|a o={offer.offer_id} pb={model_price_band(offer.price_usd)} lp:{math.log(offer.price_usd):.4f}"
                f" {grants}{gap}"
            )
        return lines

    def choose(self, round_index, player, session, eligible):
        self.max_price = max(self.max_price, *(o.price_usd for o in eligible))
        lines = self._example(session, eligible)
        pmf = self.vw.predict(lines)
        index = self.rng.choices(range(len(eligible)), pmf)[0]
        self.token = (lines, index, pmf[index])
        return eligible[index]

    def feedback(self, player_id, offer, outcome, token):
        lines, index, probability = token
        revenue = offer.price_usd if outcome == "converted" else 0.0
        labelled = list(lines)
        labelled[index + 1] = f"0:{-revenue / 100.0:.6f}:{probability:.6f} {lines[index + 1]}"
        self.vw.learn(labelled)


def model_price_band(price: float) -> int:
    return round(2 * math.log2(max(price, 0.01)))


def _offer_features(offer: Offer) -> OfferFeatures:
    return OfferFeatures(offer_id=offer.offer_id, price_usd=offer.price_usd, grants=offer.grants)


class LearnerPolicy(Policy):
    """The arbiter learner through its store on moto: what /v2/recommend and /v1/feedback will call."""

    name = "arbiter learner"

    def __init__(self, seed: int, offers: list[Offer]):
        self.rng = random.Random(seed)
        self.features = {offer.offer_id: _offer_features(offer) for offer in offers}
        self.now = EPOCH
        self.cpu_ns: list[int] = []

    def choose(self, round_index, player, session, eligible):
        self.now = EPOCH + timedelta(seconds=ROUND_SECONDS * round_index)
        # As /v2/recommend: one read of the player's log serves expiry and the player's history.
        logged = store.player_exposures(GAME_ID, player.player_id)
        exposures = [exposure for exposure, _ in logged]
        if overdue(exposures, self.now):
            store.expire_overdue(GAME_ID, player.player_id, now=self.now, logged=logged)
        exposure = self._show(round_index, store.load_model(GAME_ID), exposures, session, eligible)
        store.record_recommendation(GAME_ID, player.player_id, [exposure])
        self.token = exposure.interaction_id  # the X-Interaction-Id the game sends back with the outcome
        return self._offer_shown(exposure, eligible)

    def _show(
        self,
        round_index: int,
        state: model.ModelState,
        exposures: list[Exposure],
        session: Session,
        eligible: list[Offer],
    ) -> Exposure:
        """What /v2/recommend does once the log and model are read (featurize + Thompson-rank, timed): the
        exposure of the top offer, for the caller to log. One step for both learners."""
        started = time.thread_time_ns()
        context = player_context(state, session.session_context, exposures, self.now)
        ranked = model.recommend(
            state,
            context,
            [self.features[offer.offer_id] for offer in eligible],
            normalize_gaps(session.inventory_gaps),
            1,
            self.rng,
        )
        self.cpu_ns.append(time.thread_time_ns() - started)
        top = ranked[0]
        return Exposure(f"int_{round_index:08d}", self.features[top.offer_id], context, top.gap_match, self.now)

    @staticmethod
    def _offer_shown(exposure: Exposure, eligible: list[Offer]) -> Offer:
        return next(offer for offer in eligible if offer.offer_id == exposure.offer.offer_id)

    def feedback(self, player_id, offer, outcome, token):
        if outcome == "expired":
            return  # the learner expires exposures itself (store.expire_overdue), from the recommendation log
        # As a game following the README: the report names the recommendation's interaction id, so it applies to
        # that showing even when the player was shown the offer again before reporting.
        store.report_outcome(GAME_ID, player_id, offer.offer_id, outcome, interaction_id=token)


class InMemoryLearnerPolicy(LearnerPolicy):
    """The same learner and semantics with the model and the recommendation log in memory: the store's
    arithmetic (ModelState.apply adds exactly what store.report_outcome ADDs) without moto's ~100 ms per round,
    so 50,000 rounds fit in the benchmark's time. `--store-rounds` checks it against the store path."""

    name = "arbiter learner (in memory)"

    def __init__(self, seed: int, offers: list[Offer]):
        super().__init__(seed, offers)
        self.state = model.ModelState()
        self.log: dict[str, list[Exposure]] = {}

    def _resolve(self, player_id: str, exposure: Exposure, outcome: str) -> None:
        deltas = model.posterior_update(self.state, exposure.features(), model.outcome_converted(outcome))
        self.state.apply(deltas)
        self._record_outcome(player_id, exposure, outcome)

    def _record_outcome(self, player_id: str, exposure: Exposure, outcome: str) -> None:
        exposures = self.log[player_id]
        exposures[exposures.index(exposure)] = replace(exposure, outcome=outcome)

    def choose(self, round_index, player, session, eligible):
        self.now = EPOCH + timedelta(seconds=ROUND_SECONDS * round_index)
        # As store.player_log: the newest LOG_READ_LIMIT recommendations (one exposure each here).
        exposures = list(self.log.get(player.player_id, []))[-store.LOG_READ_LIMIT :]
        for exposure in overdue(exposures, self.now):
            self._resolve(player.player_id, exposure, "expired")
        exposure = self._show(round_index, self.state, exposures, session, eligible)
        self.log.setdefault(player.player_id, []).append(exposure)
        self.token = exposure.interaction_id
        return self._offer_shown(exposure, eligible)

    def feedback(self, player_id, offer, outcome, token):
        if outcome == "expired":
            return
        # store.report_outcome(interaction_id=token): the exposure of that recommendation.
        shown = next(
            (
                e
                for e in self.log.get(player_id, [])
                if e.interaction_id == token and e.offer.offer_id == offer.offer_id
            ),
            None,
        )
        if shown is not None and allowed_transition(shown.outcome, outcome):
            self._resolve(player_id, shown, outcome)


class _PosteriorMean:
    """Stands in for the learner's random stream: every weight "draw" is its posterior mean (no exploration)."""

    @staticmethod
    def gauss(mean: float, _sd: float) -> float:
        return mean


class FullInformationReference(InMemoryLearnerPolicy):
    """A ceiling for this model, not a policy a game could run: the learner's features, posterior updates and
    ranking, but after every round it learns the outcome of every eligible offer (drawn from the true
    probabilities, at once) and ranks by the posterior mean. What the learner loses against it is the price of
    bandit feedback: one outcome per round, for the offer it chose, late, and the exploration that needs."""

    name = "reference: same model, full information"

    def __init__(self, seed: int, world: World):
        super().__init__(seed, world.offers)
        self.world = world
        self.rng = _PosteriorMean()
        self.outcome_rng = random.Random(seed * 31 + 5)

    def _resolve(self, player_id: str, exposure: Exposure, outcome: str) -> None:
        # The model already learnt this offer's outcome with the round; the log keeps it for the player history.
        self._record_outcome(player_id, exposure, outcome)

    def choose(self, round_index, player, session, eligible):
        shown = super().choose(round_index, player, session, eligible)
        context = self.log[player.player_id][-1].context
        gaps = normalize_gaps(session.inventory_gaps)
        for offer in eligible:
            features = self.features[offer.offer_id]
            converted = self.outcome_rng.random() < self.world.conversion_probability(player, session, offer)
            pair = model.pair_features(context, features, features.gap_matches(gaps))
            self.state.apply(model.posterior_update(self.state, pair, converted))
        return shown


@dataclass(slots=True)
class Tally:
    expected: float = 0.0
    realized: float = 0.0
    at: dict[int, tuple[float, float]] = field(default_factory=dict)


def play(world: World, draws: list[RoundDraws], policy: Policy, checkpoints: tuple[int, ...]) -> Tally:
    players = world.copy_players()
    pending: list[tuple] = []  # (due round, round shown, player id, offer id, outcome, policy token)
    offers_by_id = {offer.offer_id: offer for offer in world.offers}
    expiry_rounds = int(DEFAULT_EXPIRY_WINDOW.total_seconds() // ROUND_SECONDS)
    tally = Tally()
    for round_index, draw in enumerate(draws):
        while pending and pending[0][0] <= round_index:
            _, _, player_id, offer_id, outcome, token = heapq.heappop(pending)
            policy.feedback(player_id, offers_by_id[offer_id], outcome, token)
        player = players[draw.player_index]
        session = world.start_session(player, random.Random(draw.session_seed))
        eligible = world.eligible(player)
        policy.token = None
        offer = policy.choose(round_index, player, session, eligible)
        probability = world.conversion_probability(player, session, offer)
        tally.expected += probability * offer.price_usd
        converted = draw.purchase_uniform < probability
        if converted:
            tally.realized += offer.price_usd
            world.purchase(player, offer)
            due, outcome = round_index + draw.feedback_delay, "converted"
        elif draw.report_dismissal:
            due, outcome = round_index + draw.feedback_delay, "dismissed"
        else:
            due, outcome = round_index + expiry_rounds, "expired"
        heapq.heappush(pending, (due, round_index, player.player_id, offer.offer_id, outcome, policy.token))
        if round_index + 1 in checkpoints:
            tally.at[round_index + 1] = (tally.expected / (round_index + 1), tally.realized / (round_index + 1))
    return tally


def fixed_rankings(world: World, seed: int) -> tuple[list[str], list[str]]:
    """Offers ranked by population conversion rate (popularity) and by revenue per showing, as a game would
    know them from history: averaged over a sample of sessions across the player base."""
    rng = random.Random(seed)
    players = world.copy_players()
    conversions = Counter()
    revenue = Counter()
    for _ in range(3000):
        player = rng.choice(players)
        session = world.start_session(player, rng)
        for offer in world.eligible(player):
            probability = world.conversion_probability(player, session, offer)
            conversions[offer.offer_id] += probability
            revenue[offer.offer_id] += probability * offer.price_usd
    ids = [offer.offer_id for offer in world.offers]
    by_popularity = sorted(ids, key=lambda i: (-conversions[i], i))
    by_revenue = sorted(ids, key=lambda i: (-revenue[i], i))
    return by_popularity, by_revenue


def window_ratio(tally: Tally, oracle: Tally, start: int, end: int) -> float | None:
    """Expected revenue over rounds start+1..end alone, as a share of the oracle's over the same rounds."""
    if start not in tally.at or end not in tally.at:
        return None

    def revenue_in_window(of: Tally) -> float:
        return of.at[end][0] * end - of.at[start][0] * start

    return revenue_in_window(tally) / revenue_in_window(oracle)


class CallCounter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def __call__(self, event_name: str, **_: object) -> None:
        self.calls[event_name.rsplit(".", 1)[-1]] += 1


def learner_cpu_per_recommend(offer_count: int, seed: int, samples: int = 400) -> tuple[float, float]:
    """CPU µs (p50, p99) of player context + featurize + recommend over `offer_count` offers, on a model
    trained in memory on 5,000 outcomes of this world (every feature the requests touch has stats), for a
    player whose log holds EVIDENCE_OUTCOMES resolved exposures (the most the segment inference reads: the
    slowest case)."""
    world = World(seed, offers=offer_count, players=500)
    features = {o.offer_id: _offer_features(o) for o in world.offers}
    state = model.ModelState()
    rng = random.Random(seed)
    sessions = []
    log: list[Exposure] = []
    for index in range(5_000):
        player = rng.choice(world.players)
        session = world.start_session(player, rng)
        offer = rng.choice(world.eligible(player))
        gaps = normalize_gaps(session.inventory_gaps)
        shown = Exposure(
            f"int_{index:08d}",
            features[offer.offer_id],
            context_features(session.session_context),
            features[offer.offer_id].gap_matches(gaps),
            EPOCH,
        )
        converted = rng.random() < world.conversion_probability(player, session, offer)
        state.apply(model.posterior_update(state, shown.features(), converted))
        log.append(replace(shown, outcome="converted" if converted else "dismissed"))
        sessions.append(session)
    player_log = log[-EVIDENCE_OUTCOMES:]
    timings = []
    gc.collect()
    gc.disable()
    try:
        for session in sessions[:samples]:
            started = time.thread_time_ns()
            model.recommend(
                state,
                player_context(state, session.session_context, player_log, EPOCH),
                list(features.values()),
                normalize_gaps(session.inventory_gaps),
                5,
                rng,
            )
            timings.append((time.thread_time_ns() - started) / 1000)
    finally:
        gc.enable()
    timings.sort()
    return statistics.median(timings), timings[min(len(timings) - 1, int(0.99 * len(timings)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=CHECKPOINTS[-1])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--offers", type=int, default=50)
    parser.add_argument("--players", type=int, default=2000)
    parser.add_argument("--store-rounds", type=int, default=1_000, help="rounds of the store-on-moto run")
    parser.add_argument("--skip-vw", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args(argv)
    checkpoints = tuple(
        sorted({c for c in CHECKPOINTS if c <= args.rounds} | {args.rounds, min(args.rounds, args.store_rounds)})
    )
    # The last LAST_WINDOW rounds on their own: where the learning curve has got to, next to the cumulative
    # figures (which carry the cost of the first rounds' exploration).
    window_start = args.rounds - LAST_WINDOW if args.rounds > LAST_WINDOW else None
    tracked = tuple(sorted(set(checkpoints) | ({window_start} if window_start else set())))

    world = World(args.seed, offers=args.offers, players=args.players)
    draws = draw_rounds(args.seed, args.rounds, args.players)
    by_popularity, by_revenue = fixed_rankings(world, args.seed + 3)
    policies: list[Policy] = [
        OraclePolicy(world),
        InMemoryLearnerPolicy(args.seed, world.offers),
        FullInformationReference(args.seed, world),
        RandomPolicy(args.seed),
        FixedRanking("fixed: most popular", by_popularity, world.offers),
        FixedRanking("fixed: best revenue per showing", by_revenue, world.offers),
    ]
    if not args.skip_vw:
        policies += [
            VowpalWabbitPolicy(args.seed, "--cb_explore_adf -q ua --epsilon 0.05"),
            VowpalWabbitPolicy(args.seed, "--cb_explore_adf -q ua --squarecb"),
        ]
    results: dict[str, Tally] = {}
    seconds: dict[str, float] = {}
    for policy in policies:
        started = time.perf_counter()
        results[policy.name] = play(world, draws, policy, tracked)
        seconds[policy.name] = time.perf_counter() - started
        print(f"  {policy.name}: {seconds[policy.name]:.1f} s", file=sys.stderr)

    from moto import mock_aws

    from arbiter.devstack import moto_transactions
    from arbiter.devstack.tables import create_tables

    # moto backs up whole tables per transaction item; this keeps transactions O(their items), as in the tests.
    moto_transactions.install()
    with mock_aws():
        aws.reset_clients()
        create_tables(aws.dynamodb_client())
        aws.reset_clients()
        store.forget_models()
        counter = CallCounter()
        aws.dynamodb_client().meta.events.register("before-call.dynamodb.*", counter)
        learner = LearnerPolicy(args.seed, world.offers)
        clock.set_clock(lambda: learner.now)
        started = time.perf_counter()
        try:
            store_draws = draws[: args.store_rounds]
            store_checkpoints = tuple(c for c in checkpoints if c <= args.store_rounds)
            results[learner.name] = play(world, store_draws, learner, store_checkpoints)
        finally:
            clock.set_clock(None)
        seconds[learner.name] = time.perf_counter() - started
        print(f"  {learner.name}: {seconds[learner.name]:.1f} s", file=sys.stderr)
        learner_calls = counter.calls
    moto_transactions.uninstall()
    aws.reset_clients()
    store.forget_models()

    oracle = results["oracle"]
    vw_names = [name for name in results if name.startswith("vw")]
    best_vw = {c: max((results[n].at[c][0] for n in vw_names), default=float("nan")) for c in checkpoints}
    print(
        f"\nSeed {args.seed}, {args.offers} offers, {args.players} players, {args.rounds:,} rounds."
        " Expected revenue per recommendation, USD (realized in brackets); ratios on expected revenue.\n"
    )
    window_header, window_rule = (f" last {LAST_WINDOW:,} rounds / oracle |", " ---: |") if window_start else ("", "")
    header = "| policy | " + " | ".join(f"{c:,} rounds" for c in checkpoints) + " | / oracle | / best VW |"
    print(header + window_header)
    print("| --- | " + " | ".join("---:" for _ in checkpoints) + " | ---: | ---: |" + window_rule)
    for name, tally in results.items():
        cells = " | ".join(
            f"{tally.at[c][0]:.3f} ({tally.at[c][1]:.3f})" if c in tally.at else "-" for c in checkpoints
        )
        to_oracle = " / ".join(f"{tally.at[c][0] / oracle.at[c][0]:.2f}" for c in checkpoints if c in tally.at)
        to_vw = (
            " / ".join(f"{tally.at[c][0] / best_vw[c]:.2f}" for c in checkpoints if c in tally.at)
            if vw_names
            else "n/a"
        )
        window = ""
        if window_start:
            ratio = window_ratio(tally, oracle, window_start, args.rounds)
            window = f" {ratio:.2f} |" if ratio is not None else " - |"
        print(f"| {name} | {cells} | {to_oracle} | {to_vw} |{window}")
    total_rounds = min(args.rounds, args.store_rounds)
    print(
        f"\nLearner on moto: {seconds['arbiter learner']:.0f} s for {total_rounds:,} rounds; DynamoDB calls: "
        + ", ".join(f"{op} {count / total_rounds:.2f}/round" for op, count in sorted(learner_calls.items()))
    )
    cpu = sorted(learner.cpu_ns)
    print(
        f"Learner CPU per recommend in the run ({args.offers} offers, featurize + rank): "
        f"p50 {statistics.median(cpu) / 1000:.0f} µs, p99 {cpu[int(0.99 * (len(cpu) - 1))] / 1000:.0f} µs"
    )
    if not args.skip_latency:
        print("\n| offers | CPU p50 µs | CPU p99 µs |\n| ---: | ---: | ---: |")
        for size in (50, 500):
            p50, p99 = learner_cpu_per_recommend(size, args.seed)
            print(f"| {size} | {p50:,.0f} | {p99:,.0f} |")


if __name__ == "__main__":
    main()
