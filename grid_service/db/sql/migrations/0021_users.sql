-- People who sign in (SPEC §13): each a username, a role and what it is responsible for, and an
-- argon2id hash of a password. Machines keep their bearer tokens (api_tokens).
CREATE TABLE users (
    id            serial PRIMARY KEY,
    username      text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    display_name  text CHECK (length(display_name) BETWEEN 1 AND 64),
    role          text NOT NULL CHECK (role IN ('inspector', 'department', 'dispatcher', 'viewer', 'admin',
                                                'receiver', 'shift_lead')),
    department    text REFERENCES departments (code),
    -- the grid prefixes an inspector answers for (a cell, a community, a street)
    grids         text[] NOT NULL DEFAULT '{}' CHECK (array_position(grids, NULL) IS NULL),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    password_set_at timestamptz NOT NULL DEFAULT now(),
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz,
    CHECK ((role = 'department') = (department IS NOT NULL))
);
CREATE TRIGGER users_keep BEFORE DELETE ON users FOR EACH ROW EXECUTE FUNCTION refuse_delete();
