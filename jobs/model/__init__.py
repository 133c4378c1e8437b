"""The PD model: training set, training and registry, scoring, and the limit policy."""
