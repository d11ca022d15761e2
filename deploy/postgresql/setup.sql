-- Creates the PostgreSQL role and database for Schulhof. See README.md in this directory.
--
-- Run once as the PostgreSQL superuser (input redirection, so that the postgres user need not
-- be able to read the repository):
--
--   sudo -u postgres psql < deploy/postgresql/setup.sql
--
-- It stops at the first error (e.g. "role "schulhof" already exists" on a second run).
-- The role gets no password: on the same machine Schulhof connects through the local socket
-- with peer authentication (OS user schulhof = role schulhof). For TCP connections, set a
-- password afterwards (it is not written to the shell history that way):
--
--   sudo -u postgres psql -c '\password schulhof'
--
-- Schulhof creates its tables itself on the first start (`schulhof serve` or `schulhof user add`).

\set ON_ERROR_STOP on

-- One `schulhof serve` process opens at most 16 connections; every admin command
-- (`schulhof user add …`) opens its own. 50 leaves room for those and for pg_dump.
CREATE ROLE schulhof LOGIN CONNECTION LIMIT 50;

-- template0 so that encoding and collation can be chosen freely. Schulhof compares identifiers
-- byte-wise; the C collation is the fastest and does not change with operating system updates.
CREATE DATABASE schulhof
    OWNER schulhof
    ENCODING 'UTF8'
    LC_COLLATE 'C'
    LC_CTYPE 'C'
    TEMPLATE template0;

REVOKE ALL ON DATABASE schulhof FROM PUBLIC;

\connect schulhof

-- Only Schulhof itself creates objects in its database (PostgreSQL before 15 lets every role
-- create tables in the public schema).
ALTER SCHEMA public OWNER TO schulhof;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
