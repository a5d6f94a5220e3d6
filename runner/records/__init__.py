"""Result records: every kind's schema, their layout, atomic never-overwriting writes, loading."""
