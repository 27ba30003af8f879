"""The results contract (design §4): the tables `compute` writes and every report reads."""
