-- People sign in (SPEC §13): server-side sessions behind a cookie, one-time device codes for
-- phones, and the failed sign-ins that throttle guessing.

-- Each account acts under a token of its own (its name the username, its role and department the
-- account's): the audit trail, the reports it sends and the figures of the people of the loop name
-- it as they name a token's holder. Its secret is random and never shown: it cannot be used as a
-- bearer token; the account signs in instead.
ALTER TABLE users ADD COLUMN token_id int UNIQUE REFERENCES api_tokens (id);
WITH made AS (
    INSERT INTO api_tokens (name, role, department, token_hash)
    SELECT CASE WHEN EXISTS (SELECT 1 FROM api_tokens t WHERE t.name = u.username) THEN u.username || '-' || u.id
                ELSE u.username END,
           u.role, u.department, sha256(gen_random_uuid()::text::bytea || u.id::text::bytea)
      FROM users u WHERE u.token_id IS NULL
    RETURNING id, name
)
UPDATE users u SET token_id = made.id  -- each account the token made for it, never another of that name
  FROM made
 WHERE made.name = CASE WHEN made.name = u.username THEN u.username ELSE u.username || '-' || u.id END
   AND u.token_id IS NULL;
ALTER TABLE users ALTER COLUMN token_id SET NOT NULL;

CREATE TABLE sessions (
    id         bigserial PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,       -- SHA-256 of the cookie's secret
    user_id    int NOT NULL REFERENCES users (id),
    kind       text NOT NULL CHECK (kind IN ('password', 'device')),
    csrf_token text NOT NULL,               -- sent back as X-CSRF-Token on every write
    address    text,                        -- where it signed in from
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    ended_at   timestamptz                  -- signed out, or the account disabled
);
CREATE INDEX sessions_of_user ON sessions (user_id) WHERE ended_at IS NULL;

-- One-time codes a phone signs in with (grid-service user device-code U), valid a few minutes.
CREATE TABLE device_codes (
    code_hash  bytea PRIMARY KEY,
    user_id    int NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

-- Failed sign-ins of the last while, per username and per address: a sixth within the window is
-- refused before any password is checked (429).
CREATE TABLE sign_in_failures (
    at       timestamptz NOT NULL DEFAULT now(),
    username text NOT NULL,
    address  text NOT NULL
);
CREATE INDEX sign_in_failures_by_username ON sign_in_failures (username, at);
CREATE INDEX sign_in_failures_by_address ON sign_in_failures (address, at);
