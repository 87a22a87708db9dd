"""Budget pacing: spread a campaign's daily spend evenly and end campaigns on time (issue 3 §3).

calculations.py: the pure math (today's target, pacing status, the throttle controller). job.py: the scheduled
pass over active campaigns (functions/ads_pacing). repository.py: its conditional writes. figures.py: the
analytics pacing figures, computed with the same math.
"""
