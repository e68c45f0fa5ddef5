"""Surrogate: design space, cost priors, learned models and the budgeted selector."""
