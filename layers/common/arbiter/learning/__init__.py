"""The offers learner: a contextual bandit that maximizes expected revenue per recommendation.

features.py (context and offer features), model.py (Bayesian logistic regression, Thompson sampling),
exposure.py (shown offers, outcomes, the expiry window), store.py (state in DynamoDB, cached reads).
"""
