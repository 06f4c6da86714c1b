-- The default realm serves the root paths (design §7); every row references a realm.
INSERT OR IGNORE INTO realms (id, created_at) VALUES ('default', 0);
