-- A small deterministic TPC-H dataset for ../shared/data/tpch/schema.sql (loaded as shipped
-- first): 5 regions, 25 nations (the real names), 20 suppliers, 200 parts, 800 partsupp rows,
-- 150 customers, 1,500 orders and about 6,000 lineitems. Values come from generate_series and
-- arithmetic only (no random()), so every run sees the same rows. Keys follow the joins the 22
-- queries make (each lineitem's part and supplier are a partsupp pair; customers whose key is a
-- multiple of 3 place no orders, as in dbgen), and a few parts are shaped so that the
-- validation parameters of Q2, Q8, Q17, Q18 and Q19 find rows.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

INSERT INTO region (r_regionkey, r_name, r_comment)
SELECT k - 1, name, 'region ' || name || ' comment' FROM unnest(ARRAY['AFRICA', 'AMERICA', 'ASIA', 'EUROPE', 'MIDDLE EAST']) WITH ORDINALITY AS r(name, k);

INSERT INTO nation (n_nationkey, n_name, n_regionkey, n_comment)
SELECT k - 1, name, region, 'nation ' || name FROM unnest(
  ARRAY['ALGERIA', 'ARGENTINA', 'BRAZIL', 'CANADA', 'EGYPT', 'ETHIOPIA', 'FRANCE', 'GERMANY', 'INDIA', 'INDONESIA', 'IRAN', 'IRAQ', 'JAPAN',
        'JORDAN', 'KENYA', 'MOROCCO', 'MOZAMBIQUE', 'PERU', 'CHINA', 'ROMANIA', 'SAUDI ARABIA', 'VIETNAM', 'RUSSIA', 'UNITED KINGDOM', 'UNITED STATES'],
  ARRAY[0, 1, 1, 1, 4, 0, 3, 3, 2, 2, 4, 4, 2, 4, 0, 0, 0, 1, 2, 3, 4, 2, 3, 3, 1]) WITH ORDINALITY AS n(name, region, k);

INSERT INTO supplier (s_suppkey, s_name, s_address, s_nationkey, s_phone, s_acctbal, s_comment)
SELECT s, 'Supplier#' || lpad(s::text, 9, '0'), 'address ' || (s * 7919 % 1000), s % 25,
       (s % 25 + 10) || '-' || lpad((s * 37 % 1000)::text, 3, '0') || '-' || lpad((s * 91 % 1000)::text, 3, '0') || '-' || lpad((s * 53 % 10000)::text, 4, '0'),
       (s * 7717 % 1099999) / 100.0 - 999.99,
       CASE WHEN s % 7 = 0 THEN 'slyly Customer pending Complaints' ELSE 'quickly final packages sleep' END
FROM generate_series(1, 20) AS s;

-- Part names are five colour words, as in dbgen; every tenth part starts with 'forest' and has a Canadian supplier (Q20).
INSERT INTO part (p_partkey, p_name, p_mfgr, p_brand, p_type, p_size, p_container, p_retailprice, p_comment)
SELECT p,
       CASE WHEN p % 10 = 2 THEN 'forest' ELSE w[p * 7 % 92 + 1] END || ' ' || w[(p * 13 + 5) % 92 + 1] || ' ' || w[(p * 17 + 11) % 92 + 1] || ' ' ||
         w[(p * 29 + 3) % 92 + 1] || ' ' || w[(p * 31 + 47) % 92 + 1],
       'Manufacturer#' || (p % 5 + 1),
       CASE p % 40 WHEN 1 THEN 'Brand#12' WHEN 2 THEN 'Brand#23' WHEN 3 THEN 'Brand#34' WHEN 7 THEN 'Brand#23'
         ELSE 'Brand#' || (p % 5 + 1) || (p / 5 % 5 + 1) END,
       CASE p % 40 WHEN 6 THEN 'LARGE POLISHED BRASS' WHEN 5 THEN 'ECONOMY ANODIZED STEEL'
         ELSE (ARRAY['STANDARD', 'SMALL', 'MEDIUM', 'LARGE', 'ECONOMY', 'PROMO'])[p % 6 + 1] || ' ' ||
              (ARRAY['ANODIZED', 'BURNISHED', 'PLATED', 'POLISHED', 'BRUSHED'])[p / 6 % 5 + 1] || ' ' ||
              (ARRAY['TIN', 'NICKEL', 'BRASS', 'STEEL', 'COPPER'])[p / 30 % 5 + 1] END,
       CASE p % 40 WHEN 1 THEN 3 WHEN 2 THEN 7 WHEN 3 THEN 12 WHEN 6 THEN 15 ELSE p * 7 % 50 + 1 END,
       CASE p % 40 WHEN 1 THEN 'SM CASE' WHEN 2 THEN 'MED BAG' WHEN 3 THEN 'LG BOX' WHEN 7 THEN 'MED BOX'
         ELSE (ARRAY['SM', 'LG', 'MED', 'JUMBO', 'WRAP'])[p % 5 + 1] || ' ' || (ARRAY['CASE', 'BOX', 'BAG', 'JAR', 'PKG', 'PACK', 'CAN', 'DRUM'])[p / 5 % 8 + 1] END,
       (90000 + p / 10 % 20001 + 100 * (p % 1000)) / 100.0,
       'part comment ' || p
FROM generate_series(1, 200) AS p,
     (SELECT ARRAY['almond', 'antique', 'aquamarine', 'azure', 'beige', 'bisque', 'black', 'blanched', 'blue', 'blush', 'brown', 'burlywood',
                   'burnished', 'chartreuse', 'chiffon', 'chocolate', 'coral', 'cornflower', 'cornsilk', 'cream', 'cyan', 'dark', 'deep', 'dim',
                   'dodger', 'drab', 'firebrick', 'floral', 'forest', 'frosted', 'gainsboro', 'ghost', 'goldenrod', 'green', 'grey', 'honeydew',
                   'hot', 'indian', 'ivory', 'khaki', 'lace', 'lavender', 'lawn', 'lemon', 'light', 'lime', 'linen', 'magenta', 'maroon', 'medium',
                   'metallic', 'midnight', 'mint', 'misty', 'moccasin', 'navajo', 'navy', 'olive', 'orange', 'orchid', 'pale', 'papaya', 'peach',
                   'peru', 'pink', 'plum', 'powder', 'puff', 'purple', 'red', 'rose', 'rosy', 'royal', 'saddle', 'salmon', 'sandy', 'seashell',
                   'sienna', 'sky', 'slate', 'smoke', 'snow', 'spring', 'steel', 'tan', 'thistle', 'tomato', 'turquoise', 'violet', 'wheat',
                   'white', 'yellow'] AS w) AS words;

-- Four suppliers per part, five apart, so the four are distinct.
INSERT INTO partsupp (ps_partkey, ps_suppkey, ps_availqty, ps_supplycost, ps_comment)
SELECT p, (p + i * 5) % 20 + 1, p * ((p + i * 5) % 20 + 1) * 31 % 9999 + 1, (p * 7 + i * 1013) % 100000 / 100.0 + 1, 'partsupp ' || p || '/' || i
FROM generate_series(1, 200) AS p, generate_series(0, 3) AS i;

INSERT INTO customer (c_custkey, c_name, c_address, c_nationkey, c_phone, c_acctbal, c_mktsegment, c_comment)
SELECT c, 'Customer#' || lpad(c::text, 9, '0'), 'street ' || (c * 31 % 997), c % 25,
       (c % 25 + 10) || '-' || lpad((c * 37 % 1000)::text, 3, '0') || '-' || lpad((c * 91 % 1000)::text, 3, '0') || '-' || lpad((c * 53 % 10000)::text, 4, '0'),
       (c * 7919 % 1099999) / 100.0 - 999.99,
       (ARRAY['AUTOMOBILE', 'BUILDING', 'FURNITURE', 'MACHINERY', 'HOUSEHOLD'])[c % 5 + 1],
       'customer comment ' || c
FROM generate_series(1, 150) AS c;

-- Orders: dates across 1992-01-01 .. 1998-08-02; status and total are filled in from the lines.
INSERT INTO orders (o_orderkey, o_custkey, o_orderstatus, o_totalprice, o_orderdate, o_orderpriority, o_clerk, o_shippriority, o_comment)
SELECT o, c, 'O', 0, DATE '1992-01-01' + o * 37 % 2406,
       (ARRAY['1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW'])[o % 5 + 1],
       'Clerk#' || lpad((o % 50 + 1)::text, 9, '0'), 0,
       CASE WHEN o % 5 = 0 THEN 'carefully special deposits wake requests' ELSE 'furiously regular accounts ' || o END
FROM generate_series(1, 1500) AS o,
     LATERAL (SELECT o * 7 % 150 + 1 AS c0) AS c0,
     LATERAL (SELECT CASE WHEN c0 % 3 = 0 THEN c0 % 150 + 1 ELSE c0 END AS c) AS c;

-- 1 to 7 lines per order; order 13 and every 350th after it has 7 heavy lines (Q18).
INSERT INTO lineitem (l_orderkey, l_partkey, l_suppkey, l_linenumber, l_quantity, l_extendedprice, l_discount, l_tax, l_returnflag, l_linestatus,
                      l_shipdate, l_commitdate, l_receiptdate, l_shipinstruct, l_shipmode, l_comment)
SELECT o, p, (p + (o / 2 + l) % 4 * 5) % 20 + 1, l, q, q * (90000 + p / 10 % 20001 + 100 * (p % 1000)) / 100.0,
       (o + l) % 11 / 100.0, (o * 3 + l) % 9 / 100.0,
       CASE WHEN receipt <= DATE '1995-06-17' THEN (ARRAY['R', 'A'])[(o + l) % 2 + 1] ELSE 'N' END,
       CASE WHEN ship > DATE '1995-06-17' THEN 'O' ELSE 'F' END,
       ship, commit, receipt,
       (ARRAY['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'])[(o * 5 + l) % 4 + 1],
       (ARRAY['REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'])[(o * 3 + l * 2) % 7 + 1],
       'line ' || o || '.' || l
FROM (SELECT o_orderkey AS o, o_orderdate AS odate FROM orders) AS ord,
     LATERAL generate_series(1, CASE WHEN o % 350 = 13 THEN 7 ELSE o % 7 + 1 END) AS l,
     LATERAL (SELECT (o * 13 + l * 7) % 200 + 1 AS p,
                     CASE WHEN o % 350 = 13 THEN 43 + l ELSE (o * 7 + l * 3) % 50 + 1 END AS q,
                     odate + (o * l * 17 % 121 + 1) AS ship,
                     odate + ((o + l * 29) % 61 + 30) AS commit) AS v,
     LATERAL (SELECT ship + ((o + l) % 30 + 1) AS receipt) AS r;

UPDATE orders SET o_orderstatus = s.status, o_totalprice = s.total
FROM (SELECT l_orderkey,
             CASE WHEN bool_and(l_linestatus = 'F') THEN 'F' WHEN bool_and(l_linestatus = 'O') THEN 'O' ELSE 'P' END AS status,
             round(sum(l_extendedprice * (1 + l_tax) * (1 - l_discount)), 2) AS total
      FROM lineitem GROUP BY l_orderkey) AS s
WHERE o_orderkey = s.l_orderkey;

ANALYZE;
