"""Uses of a distilled set beyond training one model (the DC paper, Sec. 3.2): continual learning, NAS."""
