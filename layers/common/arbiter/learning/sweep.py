"""The offers learner's expiry sweep (OffersExpirySweepFunction, every 15 minutes; docs/decisions.md D12).

A shown offer with no reported outcome becomes `expired` once the expiry window has passed
(exposure.DEFAULT_EXPIRY_WINDOW, 24 h). /v2/recommend resolves a player's overdue exposures when it sees the player
again; this job resolves those of players who do not come back, so the model learns those negatives too.

What it reads: the expiry index (GSI1 of the interactions table, KEYS_ONLY, sparse). Each recommendation-log item
is indexed, in the PutItem that logs it, under the UTC hour its exposures become overdue and a shard of the
player (store.due_partition). An hour is swept once it has ended: every item in it is overdue by then.

What it does: for each indexed item, store.expire_logged_recommendation: that logged recommendation itself is read
(one GetItem; a read of the player's log returns only their newest recommendations, store.LOG_READ_LIMIT, which a
player served often enough has moved past this one) and its overdue exposures go to store.expire_overdue. That is
the code /v2/recommend runs: each overdue exposure with no outcome becomes `expired` in its own conditional
transaction with its model update, so an exposure resolved meanwhile (feedback, the player's next request, an
overlapping run) is left as it is, a second sweep of the same item changes nothing, and a conversion reported
later still converts (exposure.allowed_transition).

Where it is: the watermark item (`OFFERSWEEP` / `WATERMARK`, interactions table) holds the position the next run
starts from - the hour, the shard and the last index sort key done - and a `seq` number. A run goes forward from
it through every hour that has ended, shard by shard, and saves its position after each page of the index and
when it stops, each save conditional on `seq` (the position it started from): a run that failed, timed out or was
not invoked leaves the position where the last save put it, and the next run goes on from there (nothing is
skipped, the work done since the last save is done again, harmlessly); of two overlapping runs, the one whose save
finds `seq` moved stops. A run stops before its time is up (`time_left`), leaving the rest to the next one, so an
hour holding more than one run's work still makes progress. The first run starts one expiry window back.

Failures: a player whose expiry fails (DynamoDB contended or throttled past the retries) stops the run at that
item and the next run tries it again; after MAX_ATTEMPTS runs failing on the same item it is skipped, logged as an
error, and left to the player's next request (what happened before the sweep existed).

Games: the report lists the games of the index items read (`games`). OffersExpirySweepFunction runs this through
arbiter.offers.maintenance, which then removes from those games' models the `O#` items of offers no longer in
their catalog (store.prune_offer_weights): the catalog is the offers package's, which this package does not import.
"""

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from botocore.exceptions import ClientError

from arbiter import aws, clock
from arbiter.dynamo import is_condition_failure
from arbiter.learning import store
from arbiter.learning.exposure import DEFAULT_EXPIRY_WINDOW
from arbiter.observability import logger
from arbiter.settings import get_settings

WATERMARK_KEY = {"PK": {"S": "OFFERSWEEP"}, "SK": {"S": "WATERMARK"}}
HOUR = timedelta(hours=1)
PAGE_SIZE = 100  # index items per Query page; the position is saved after each page
MAX_ATTEMPTS = 3  # runs that may fail on the same item before it is skipped
STOP_MARGIN_SECONDS = 30.0  # stop when less than this is left (at most half the time the run started with)


class Stop:
    CAUGHT_UP = "caught_up"  # every hour that has ended is swept
    TIME = "time"  # the run's time was nearly up: the next run goes on from the saved position
    FAILURE = "failure"  # a player's expiry failed: the next run tries that item again
    SUPERSEDED = "superseded"  # another run saved a position meanwhile: it goes on from there


@dataclass(frozen=True, slots=True)
class Position:
    """Where the sweep is: the first hour not fully swept, the shard in it, and the last index sort key done."""

    hour: datetime
    shard: int = 0
    after: str = ""  # "" = from the start of the shard

    def past(self, sort_key: str) -> "Position":
        return Position(self.hour, self.shard, sort_key)

    def next_shard(self) -> "Position":
        if self.shard + 1 < store.DUE_SHARDS:
            return Position(self.hour, self.shard + 1)
        return Position(self.hour + HOUR, 0)

    def label(self) -> str:
        return f"{self.hour:%Y-%m-%dT%H}#{self.shard}" + (f" after {self.after}" if self.after else "")


@dataclass(frozen=True, slots=True)
class Watermark:
    position: Position
    seq: int  # bumped by every save; 0 = no item yet
    attempts: int = 0  # runs in a row that stopped on a failure at this position


@dataclass
class SweepReport:
    """What one run did (the function's response and its metrics)."""

    started_at: str
    start: str = ""
    position: str = ""  # where the next run starts
    stopped: str = Stop.CAUGHT_UP
    hours: int = 0  # hours finished
    items: int = 0  # index items read
    players: int = 0  # distinct players of the items read
    expired: int = 0  # exposures resolved as expired
    backlog_hours: int = 0  # hours that have ended and are not swept yet
    failed: list[str] = field(default_factory=list)  # log keys whose expiry failed (the next run tries again)
    skipped: list[str] = field(default_factory=list)  # log keys given up after MAX_ATTEMPTS runs
    # The games of the index items read, in the order first read (each once): the games with recommendations
    # in the hours swept, which arbiter.offers.maintenance then prunes of their deleted offers' weights.
    games: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {**asdict(self), "games": len(self.games)}


# ---- the watermark ---------------------------------------------------------------------------------------------


def _table() -> str:
    return get_settings().interactions_table


def read_watermark(now: datetime) -> Watermark:
    """The stored position, or (no item: the first run) the hour one expiry window back."""
    item = aws.dynamodb_client().get_item(TableName=_table(), Key=WATERMARK_KEY, ConsistentRead=True).get("Item")
    if item is None:
        return Watermark(Position(store.due_hour(now - DEFAULT_EXPIRY_WINDOW)), seq=0)
    position = Position(clock.parse_iso(item["hour"]["S"]), int(item["shard"]["N"]), item.get("after", {}).get("S", ""))
    return Watermark(position, int(item["seq"]["N"]), int(item.get("attempts", {}).get("N", "0")))


def save_watermark(current: Watermark, position: Position, attempts: int, now: datetime) -> Watermark | None:
    """Store `position` if the item is still at `current` (its seq); None when another run saved meanwhile."""
    names = {"#hour": "hour", "#shard": "shard", "#after": "after", "#seq": "seq", "#attempts": "attempts"}
    values = {
        ":hour": {"S": clock.isoformat(position.hour)},
        ":shard": {"N": str(position.shard)},
        ":next": {"N": str(current.seq + 1)},
        ":attempts": {"N": str(attempts)},
        ":now": {"S": clock.isoformat(now)},
    }
    update = "SET #hour = :hour, #shard = :shard, #seq = :next, #attempts = :attempts, updated_at = :now"
    if position.after:
        update += ", #after = :after"
        values[":after"] = {"S": position.after}
    else:
        update += " REMOVE #after"
    if current.seq == 0:
        condition = "attribute_not_exists(PK)"
    else:
        condition = "#seq = :seq"
        values[":seq"] = {"N": str(current.seq)}
    try:
        aws.dynamodb_client().update_item(
            TableName=_table(),
            Key=WATERMARK_KEY,
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if is_condition_failure(error):
            return None
        raise
    return Watermark(position, current.seq + 1, attempts)


# ---- the index -------------------------------------------------------------------------------------------------


def index_page(position: Position) -> tuple[list[tuple[str, str, str]], bool]:
    """Up to PAGE_SIZE (log item partition key, log item sort key, index sort key) triples after the position, in
    index sort key order, and whether the shard may hold more (KEYS_ONLY projects the table's keys too)."""
    values = {":pk": {"S": store.due_partition(position.hour, position.shard)}}
    condition = "GSI1PK = :pk"
    if position.after:
        condition += " AND GSI1SK > :after"
        values[":after"] = {"S": position.after}
    page = aws.dynamodb_client().query(
        TableName=_table(),
        IndexName=store.DUE_INDEX,
        KeyConditionExpression=condition,
        ExpressionAttributeValues=values,
        Limit=PAGE_SIZE,
    )
    items = [(item["PK"]["S"], item["SK"]["S"], item["GSI1SK"]["S"]) for item in page.get("Items", [])]
    return items, "LastEvaluatedKey" in page


# ---- the run -------------------------------------------------------------------------------------------------


class Budget:
    """A run's time: `time_left()` seconds left (Lambda's context); spent when less than the margin is left, the
    margin being `margin_seconds` or `share` of the time the run started with, whichever is less."""

    def __init__(
        self, time_left: Callable[[], float] | None, margin_seconds: float = STOP_MARGIN_SECONDS, share: float = 0.5
    ):
        self._time_left = time_left
        self._margin = min(margin_seconds, time_left() * share) if time_left else 0.0

    def spent(self) -> bool:
        return self._time_left is not None and self._time_left() < self._margin


class _Run:
    def __init__(self, now: datetime, time_left: Callable[[], float] | None):
        self.now = now
        self.budget = Budget(time_left)
        self.report = SweepReport(started_at=clock.isoformat(now))
        self.mark = read_watermark(now)
        if self.mark.seq == 0:  # the first run: store its starting point before any work
            self.mark = save_watermark(self.mark, self.mark.position, 0, now) or read_watermark(now)
        self.position = self.mark.position
        self.players: set[tuple[str, str]] = set()  # the players of the items read (report.players counts them)

    def stop(self, reason: str) -> None:
        self.report.stopped = reason

    @property
    def going(self) -> bool:
        return self.report.stopped == Stop.CAUGHT_UP

    def save(self, attempts: int | None = None) -> None:
        """Store the position (attempts: failed runs at it; by default kept when the position did not move)."""
        if attempts is None:
            attempts = self.mark.attempts if self.position == self.mark.position else 0
        if (self.position, attempts) == (self.mark.position, self.mark.attempts):
            return
        saved = save_watermark(self.mark, self.position, attempts, self.now)
        if saved is None:
            self.stop(Stop.SUPERSEDED)
        else:
            self.mark = saved

    def sweep(self) -> SweepReport:
        report = self.report
        report.start = self.position.label()
        while self.going and self.position.hour + HOUR <= self.now:  # an hour that has ended: all of it is overdue
            if self.budget.spent():
                self.stop(Stop.TIME)
                break
            items, more = index_page(self.position)
            for log_pk, log_sk, index_sk in items:
                if self.budget.spent():
                    self.stop(Stop.TIME)
                    break
                if not self.item(log_pk, log_sk):
                    break  # failed: the next run starts at this item
                self.position = self.position.past(index_sk)
            if not self.going:
                break
            if not more:
                if self.position.shard + 1 == store.DUE_SHARDS:
                    report.hours += 1
                self.position = self.position.next_shard()
            if items or self.position.shard == 0:  # progress worth keeping; an empty shard costs no write
                self.save()
        if report.stopped == Stop.TIME:
            self.save()
        report.position = self.position.label()
        report.backlog_hours = max(0, int((store.due_hour(self.now) - self.position.hour) / HOUR))
        return report

    def item(self, log_pk: str, log_sk: str) -> bool:
        """Expire the overdue exposures of one logged recommendation; False when the run must stop there. The item
        itself is read, not the player's log: a log read returns only the newest recommendations
        (store.LOG_READ_LIMIT), which a player served often enough has moved past this one."""
        report = self.report
        report.items += 1
        try:
            game_id, player_id = store.log_owner(log_pk)
            if game_id not in report.games:
                report.games.append(game_id)
            report.expired += store.expire_logged_recommendation(game_id, player_id, log_sk, self.now)
        except Exception:
            attempts = self.mark.attempts + 1 if self.position == self.mark.position else 1
            extra = {"log_pk": log_pk, "attempts": attempts}
            if attempts < MAX_ATTEMPTS:
                logger.exception("expiry sweep failed on an item; the next run tries it again", extra=extra)
                report.failed.append(log_pk)
                self.stop(Stop.FAILURE)
                self.save(attempts)
                return False
            logger.exception("expiry sweep gave up on an item: left to the player's next request", extra=extra)
            report.skipped.append(log_pk)
            return True
        self.players.add((game_id, player_id))
        report.players = len(self.players)
        return True


def run(now: datetime | None = None, *, time_left: Callable[[], float] | None = None) -> SweepReport:
    """Sweep every hour that has ended at `now` (the clock by default) from the watermark on, until caught up or
    until `time_left()` (seconds, e.g. Lambda's remaining time) runs low."""
    return _Run(now or clock.now(), time_left).sweep()
