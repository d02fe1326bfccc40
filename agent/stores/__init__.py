"""Where conversations and their locks live: tracker stores (in memory, SQLite, Redis, PostgreSQL), snapshots, lock stores, and building them from endpoints.yml."""
