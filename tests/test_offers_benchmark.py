"""The offers learning benchmark's own policies (benchmarks/offers_learning.py) on a small world: the oracle bounds
everyone, the full-information reference bounds the learner, and the learner beats random."""

from benchmarks import offers_learning as bench
from benchmarks.offers_world import World

ROUNDS = 1_500


def test_the_full_information_reference_is_a_ceiling_between_the_learner_and_the_oracle():
    # Given a small world and the same rounds for every policy
    world = World(7, offers=20, players=300)
    draws = bench.draw_rounds(7, ROUNDS, 300)

    # When the oracle, the full-information reference, the learner and random play them
    def revenue(policy: bench.Policy) -> float:
        return bench.play(world, draws, policy, (ROUNDS,)).at[ROUNDS][0]

    oracle = revenue(bench.OraclePolicy(world))
    reference = bench.FullInformationReference(7, world)
    ceiling = revenue(reference)
    learner = revenue(bench.InMemoryLearnerPolicy(7, world.offers))
    random_policy = revenue(bench.RandomPolicy(7))

    # Then the reference learnt from every eligible offer each round and sits between the learner and the oracle
    assert oracle >= ceiling > learner > random_policy
    starter_offers = [offer.offer_id for offer in world.offers if offer.min_level <= 1]
    assert starter_offers
    assert all(reference.state.stats[f"o={offer_id}"].precision_delta > 0 for offer_id in starter_offers)


def test_the_last_window_ratio_counts_only_the_rounds_inside_it():
    # Given a policy that earned 1.0 a round in its first 100 rounds and 3.0 in the next 100, and an oracle that
    # earned 4.0 a round throughout (cumulative means at 100 and 200 rounds, as play() records them)
    policy = bench.Tally(at={100: (1.0, 0.0), 200: (2.0, 0.0)})
    oracle = bench.Tally(at={100: (4.0, 0.0), 200: (4.0, 0.0)})

    # When the window is rounds 101-200
    ratio = bench.window_ratio(policy, oracle, 100, 200)

    # Then it is 3.0 / 4.0 (the cumulative ratio would be 0.5), and a window the run did not record is None
    assert ratio == 0.75
    assert bench.window_ratio(policy, oracle, 150, 200) is None
