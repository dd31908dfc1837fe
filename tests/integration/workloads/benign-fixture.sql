-- The tables and columns corpus/benign.jsonl's analyst queries use, with a small deterministic
-- dataset (generate_series and arithmetic only), so each entry runs for real and several return
-- more rows than the runner's row limit. Loaded by tests/integration/workloads/run as the
-- superuser into a fresh database; the runner's read-only role is granted SELECT afterwards.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');

CREATE TABLE customers (
  id integer PRIMARY KEY,
  customer_id integer NOT NULL,
  name text NOT NULL,
  first_name text,
  last_name text,
  nickname text,
  email text,
  phone text,
  country text,
  status text,
  active boolean NOT NULL,
  created_at timestamptz NOT NULL
);
COMMENT ON TABLE customers IS 'people who buy things';
COMMENT ON COLUMN customers.email IS 'contact address, may be missing';
INSERT INTO customers
SELECT g, g, 'customer ' || g, 'First' || g, 'Last' || (g % 17),
       CASE WHEN g % 4 = 0 THEN 'nick' || g END,
       CASE WHEN g % 9 = 0 THEN NULL ELSE 'user' || g || '@' || (ARRAY['example.org', 'example.com', 'mail.test'])[g % 3 + 1] END,
       '+49 (30) ' || lpad((g * 7919 % 100000)::text, 5, '0'),
       (ARRAY['DE', 'FR', 'US', 'JP', 'BR'])[g % 5 + 1],
       CASE WHEN g % 6 = 0 THEN '' ELSE 'member' END,
       g % 3 <> 0,
       TIMESTAMPTZ '2023-01-01 00:00:00+00' + (g * 73) * interval '1 hour'
FROM generate_series(1, 120) AS g;

CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id integer,
  total numeric(12,2) NOT NULL,
  status text NOT NULL,
  created_at timestamptz NOT NULL,
  shipped_at timestamptz,
  shipped boolean,
  paid boolean NOT NULL,
  refunded boolean,
  metadata jsonb
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
INSERT INTO orders (id, customer_id, total, status, created_at, shipped_at, shipped, paid, refunded, metadata)
SELECT g,
       CASE WHEN g % 50 = 0 THEN NULL ELSE (g * 37) % 110 + 1 END,
       ((g * 7907) % 150000) / 100.0 + 1,
       (ARRAY['new', 'paid', 'shipped', 'cancelled', 'refunded', 'error'])[g % 6 + 1],
       TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * interval '13 hours 7 minutes',
       CASE WHEN g % 3 = 0 THEN TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * interval '13 hours 7 minutes' + (g % 5 + 1) * interval '1 day' END,
       CASE WHEN g % 7 = 0 THEN NULL ELSE g % 3 = 0 END,
       g % 4 <> 0,
       CASE WHEN g % 11 = 0 THEN NULL ELSE g % 10 = 0 END,
       jsonb_build_object('channel', (ARRAY['web', 'app', 'phone'])[g % 3 + 1], 'coupon', CASE WHEN g % 5 = 0 THEN 'SAVE' || g END)
FROM generate_series(1, 600) AS g;
-- A few orders relative to the load time, for the queries about the last days.
INSERT INTO orders (id, customer_id, total, status, created_at, paid)
SELECT 600 + g, g, 10 * g, (ARRAY['new', 'paid'])[g % 2 + 1], now() - g * interval '2 days', true FROM generate_series(1, 12) AS g;
SELECT setval('orders_id_seq', 612);

CREATE VIEW active_customers AS SELECT id, name, email FROM customers WHERE active;

CREATE TABLE suppliers (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO suppliers SELECT g, 'supplier ' || g FROM generate_series(1, 12) AS g;

CREATE TABLE products (
  id integer PRIMARY KEY,
  product_id integer NOT NULL,
  name text NOT NULL,
  category text NOT NULL,
  price numeric(10,2) NOT NULL,
  supplier_id integer REFERENCES suppliers (id),
  tags text[],
  sku text NOT NULL,
  code text
);
INSERT INTO products
SELECT g, g,
       (ARRAY['Pro', 'Max', 'basic', 'Deluxe', 'mini'])[g % 5 + 1] || ' widget ' || g || (ARRAY['', ' XL', ' XXL', ''])[g % 4 + 1],
       (ARRAY['tools', 'garden', 'toys', 'books'])[g % 4 + 1],
       ((g * 613) % 20000) / 100.0 + 0.99,
       CASE WHEN g <= 70 THEN g % 10 + 1 END,
       ARRAY['item', (ARRAY['sql', 'postgres', 'spam', 'misc'])[g % 4 + 1]] || CASE WHEN g % 3 = 0 THEN ARRAY['sql'] ELSE ARRAY[]::text[] END,
       'SK-' || lpad(g::text, 4, '0'),
       lpad(g::text, 6, '0')
FROM generate_series(1, 80) AS g;

CREATE TABLE order_items (
  order_id bigint NOT NULL REFERENCES orders (id),
  product_id integer NOT NULL REFERENCES products (id),
  quantity integer NOT NULL,
  unit_price numeric(10,2) NOT NULL,
  discount numeric(4,2) NOT NULL,
  total numeric(12,2) NOT NULL
);
INSERT INTO order_items
SELECT o, (o * 7 + i * 13) % 80 + 1, (o + i) % 5 + 1, ((o * 31 + i) % 9000) / 100.0 + 1,
       ((o + i) % 4) * 0.05, ((o + i) % 5 + 1) * (((o * 31 + i) % 9000) / 100.0 + 1)
FROM generate_series(1, 600) AS o, generate_series(1, 3) AS i
WHERE i <= o % 3 + 1;

CREATE TABLE returns (order_id bigint, product_id integer);
INSERT INTO returns SELECT order_id, product_id FROM order_items WHERE order_id % 13 = 0;
INSERT INTO returns VALUES (9999, 1);

CREATE TABLE refunds (id bigint);
INSERT INTO refunds SELECT g * 5 FROM generate_series(1, 60) AS g;
CREATE TABLE fraud_flags (order_id bigint);
INSERT INTO fraud_flags SELECT g * 12 FROM generate_series(1, 30) AS g;
CREATE TABLE reviews (customer_id integer);
INSERT INTO reviews SELECT g * 3 FROM generate_series(1, 40) AS g;
CREATE TABLE newsletter_subscribers (email text);
INSERT INTO newsletter_subscribers SELECT 'user' || (g * 2) || '@example.org' FROM generate_series(1, 80) AS g;

CREATE TABLE departments (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO departments SELECT g, 'department ' || g FROM generate_series(1, 6) AS g;
CREATE TABLE employees (
  id integer PRIMARY KEY,
  name text NOT NULL,
  manager_id integer,
  department_id integer,
  salary numeric(10,2) NOT NULL,
  birth_date date NOT NULL,
  active boolean NOT NULL
);
INSERT INTO employees
SELECT g, 'employee ' || lpad(g::text, 3, '0'), CASE WHEN g > 1 THEN g / 3 + 1 END,
       CASE WHEN g % 10 <> 0 THEN g % 5 + 1 END, 30000 + (g * 1777) % 50000,
       DATE '1960-01-01' + g * 211, g % 5 <> 0
FROM generate_series(1, 60) AS g;

CREATE TABLE daily_signups (day date, n integer);
INSERT INTO daily_signups SELECT DATE '2024-01-01' + g, g % 9 + 1 FROM generate_series(0, 59) AS g;
CREATE TABLE daily_orders (day date, n integer);
INSERT INTO daily_orders SELECT DATE '2024-01-20' + g, g % 7 + 2 FROM generate_series(0, 59) AS g;
CREATE TABLE daily_revenue (day date, revenue numeric(12,2));
INSERT INTO daily_revenue SELECT DATE '2024-01-01' + g, 1000 + (g * 379) % 2000 FROM generate_series(0, 89) AS g WHERE g % 10 <> 3;

CREATE TABLE regions (id integer, name text);
INSERT INTO regions VALUES (1, 'north'), (2, 'south'), (3, 'east'), (4, 'west');
CREATE TABLE archived_regions (id integer, name text);
INSERT INTO archived_regions VALUES (4, 'west'), (5, 'central'), (6, 'old south');

CREATE TABLE t1 (k integer, x integer);
INSERT INTO t1 SELECT CASE WHEN g % 4 = 0 THEN NULL ELSE g % 6 END, g FROM generate_series(1, 20) AS g;
CREATE TABLE t2 (k integer, y integer);
INSERT INTO t2 SELECT CASE WHEN g % 5 = 0 THEN NULL ELSE g % 8 END, g * 10 FROM generate_series(1, 15) AS g;

CREATE TABLE shipments (order_id bigint, carrier text, shipped_at timestamptz);
INSERT INTO shipments SELECT g * 2, (ARRAY['UPS', 'DHL', 'FedEx'])[g % 3 + 1], TIMESTAMPTZ '2024-02-01 00:00:00+00' + g * interval '1 day'
FROM generate_series(1, 150) AS g;

CREATE TABLE users (id integer PRIMARY KEY, email text, bio text);
INSERT INTO users SELECT g, 'member' || g || '@example.net',
       'likes ' || (ARRAY['databases', 'extraordinarily long words', 'internationalization and localization', 'cats'])[g % 4 + 1]
FROM generate_series(1, 40) AS g;
CREATE TABLE roles (id integer PRIMARY KEY, name text);
INSERT INTO roles VALUES (1, 'admin'), (2, 'analyst'), (3, 'viewer');
CREATE TABLE user_roles (user_id integer, role_id integer);
INSERT INTO user_roles SELECT g, g % 3 + 1 FROM generate_series(1, 40) AS g;
INSERT INTO user_roles SELECT g, 1 FROM generate_series(1, 40, 7) AS g WHERE g % 3 <> 0;

CREATE TABLE accounts (id integer PRIMARY KEY);
INSERT INTO accounts SELECT g FROM generate_series(1, 15) AS g;
CREATE TABLE transactions (id integer PRIMARY KEY, account_id integer, amount numeric(12,2), ts timestamptz);
INSERT INTO transactions SELECT g, g % 15 + 1, (g * 977) % 900 + 0.5, TIMESTAMPTZ '2024-03-01 00:00:00+00' + g * interval '41 minutes'
FROM generate_series(1, 300) AS g;

CREATE TABLE warehouses (id integer PRIMARY KEY, name text);
INSERT INTO warehouses VALUES (1, 'Berlin'), (2, 'Lyon'), (3, 'Osaka');
CREATE TABLE inventory (warehouse_id integer, sku text, qty integer, reorder_level integer);
INSERT INTO inventory SELECT g % 3 + 1, 'SK-' || lpad(g::text, 4, '0'), (g * 17) % 60, 20 FROM generate_series(1, 80) AS g;

CREATE TABLE results (id integer, score numeric(5,1));
INSERT INTO results SELECT g, (g * 37) % 100 / 2.0 FROM generate_series(1, 70) AS g;
CREATE TABLE customer_stats (customer_id integer, lifetime_value numeric(12,2));
INSERT INTO customer_stats SELECT g, (g * 3571) % 10000 / 3.0 FROM generate_series(1, 120) AS g;
CREATE TABLE region_revenue (region text, revenue numeric(12,2));
INSERT INTO region_revenue VALUES ('north', 1200.50), ('south', 800.25), ('east', 400), ('west', 99.99);

CREATE TABLE request_log (day date, status text);
INSERT INTO request_log SELECT DATE '2024-04-01' + g / 10, CASE WHEN g % 7 = 0 THEN 'error' ELSE 'ok' END FROM generate_series(0, 199) AS g;

CREATE TABLE events (id integer PRIMARY KEY, user_id integer, ts timestamp, payload jsonb);
INSERT INTO events
SELECT g, g % 9 + 1, TIMESTAMP '2024-01-01 00:00:00' + g * interval '7 minutes' + (g % 5) * interval '40 minutes',
       CASE g % 4
         WHEN 0 THEN jsonb_build_object('type', 'login', 'user', jsonb_build_object('id', g % 9 + 1, 'country', (ARRAY['DE', 'FR', 'JP'])[g % 3 + 1]), 'utm_source', 'news', 'debug', NULL)
         WHEN 1 THEN jsonb_build_object('type', 'purchase', 'amount', (g * 131) % 2000, 'items', jsonb_build_array(
                       jsonb_build_object('sku', 'A' || g % 3, 'price', (g * 13) % 250), jsonb_build_object('sku', 'B' || g % 4, 'price', (g * 7) % 120)),
                       'cart', jsonb_build_object('items', g % 4 + 1, 'total', (g * 131) % 2000))
         WHEN 2 THEN jsonb_build_object('type', 'view', 'utm_campaign', 'spring', 'page', g % 10)
         ELSE jsonb_build_object('type', 'logout', 'user', jsonb_build_object('id', g % 9 + 1))
       END
FROM generate_series(1, 400) AS g;

CREATE TABLE categories (id integer PRIMARY KEY, parent_id integer, name text);
INSERT INTO categories SELECT g, CASE WHEN g > 3 THEN (g - 1) / 3 END, 'category ' || g FROM generate_series(1, 30) AS g;
CREATE TABLE edges (src integer, dst integer);
INSERT INTO edges SELECT g, g % 10 + 1 FROM generate_series(1, 10) AS g;
INSERT INTO edges SELECT g, (g * 3) % 10 + 1 FROM generate_series(1, 10, 2) AS g;
CREATE TABLE nodes (id integer PRIMARY KEY, parent_id integer);
INSERT INTO nodes SELECT g, CASE WHEN g > 1 THEN g / 2 END FROM generate_series(1, 63) AS g;

CREATE TABLE posts (id integer PRIMARY KEY, tags text[]);
INSERT INTO posts SELECT g, (ARRAY['sql', 'postgres', 'spam', 'mysql', 'news', 'tips', 'sql', 'postgres'])[g % 4 + 1:g % 4 + 1 + g % 3]
FROM generate_series(1, 60) AS g;

CREATE TABLE subscriptions (id integer PRIMARY KEY, start_date date, end_date date);
INSERT INTO subscriptions SELECT g, DATE '2024-01-01' + g * 11, DATE '2024-01-01' + g * 11 + (g % 6 + 1) * 30 FROM generate_series(1, 30) AS g;
INSERT INTO subscriptions VALUES (31, DATE '2020-01-01', DATE '2100-01-01');

CREATE TABLE measurements (id integer PRIMARY KEY, temp numeric(5,1), humidity numeric(5,1));
INSERT INTO measurements SELECT g, 15 + (g * 7) % 20 / 2.0, 30 + (g * 11) % 60 FROM generate_series(1, 70) AS g;

CREATE TABLE sales (region text, category text, channel text, product_line text, amount numeric(12,2));
INSERT INTO sales SELECT (ARRAY['north', 'south', 'east'])[g % 3 + 1], (ARRAY['tools', 'garden'])[g % 2 + 1],
       (ARRAY['web', 'store', 'phone', 'partner'])[g % 4 + 1], (ARRAY['basic', 'premium'])[g / 50 + 1], (g * 53) % 500 + 0.25
FROM generate_series(0, 99) AS g;

-- body serves both to_tsvector() (text) and XMLEXISTS(... PASSING body) (xml): in this database
-- only, text converts to xml implicitly (the cast exists; it is made implicit, nothing else).
UPDATE pg_cast SET castcontext = 'i' WHERE castsource = 'text'::regtype AND casttarget = 'xml'::regtype;
CREATE TABLE documents (id integer PRIMARY KEY, body text);
INSERT INTO documents SELECT g,
       CASE WHEN g % 2 = 0 THEN '<doc><author>Knuth</author><p>an index scan reads the index then the heap</p></doc>'
            ELSE '<doc><author>Codd</author><p>postgres and not mysql: a sequential scan of ' || g || ' pages</p></doc>' END
FROM generate_series(1, 12) AS g;

CREATE TABLE page_views (url text);
INSERT INTO page_views SELECT (ARRAY['https://example.org/a', 'http://shop.example.com/b?x=1', 'https://docs.test/', 'ftp://old.test/f'])[g % 4 + 1] || g
FROM generate_series(1, 90) AS g;

CREATE TABLE triples (a integer, b integer, c integer);
INSERT INTO triples SELECT g, CASE WHEN g % 3 = 0 THEN NULL ELSE 10 - g END, g * g % 7 FROM generate_series(1, 10) AS g;

CREATE TABLE bookings (id integer, starts_at timestamptz, ends_at timestamptz);
INSERT INTO bookings SELECT g, TIMESTAMPTZ '2020-01-01 00:00:00+00' + g * interval '90 days', TIMESTAMPTZ '2020-01-01 00:00:00+00' + g * interval '90 days' + interval '4000 days'
FROM generate_series(1, 10) AS g;

CREATE TABLE payments (id integer, paid boolean, refunded boolean, note boolean);
INSERT INTO payments SELECT g, g % 2 = 0, CASE WHEN g % 3 = 0 THEN NULL ELSE g % 5 = 0 END, CASE WHEN g % 4 = 0 THEN NULL ELSE true END
FROM generate_series(1, 12) AS g;

CREATE TABLE access_log (id integer, ip inet);
INSERT INTO access_log SELECT g, ((ARRAY['10.1.2.', '192.168.0.', '172.16.5.'])[g % 3 + 1] || g)::inet FROM generate_series(1, 60) AS g;

CREATE TABLE tickets (id integer PRIMARY KEY, priority integer);
INSERT INTO tickets SELECT g, g % 4 FROM generate_series(1, 25) AS g;

-- A function for the catalog queries that list public functions.
CREATE FUNCTION order_count(customer integer) RETURNS bigint LANGUAGE sql STABLE
  AS 'SELECT count(*) FROM orders WHERE customer_id = customer';

ANALYZE;
