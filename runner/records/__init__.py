"""Result records: the three schemas, their layout, atomic never-overwriting writes, loading."""
