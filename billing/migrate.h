/* migrate.h: `billing migrate`: the schema/ migrations, applied in order, each once.
 *
 * A migration is a file NNN_name.sql (NNN: its version, three digits or more; name: letters,
 * digits, '_'). Each is applied in its own transaction together with its row in
 * schema_migrations, so a failure leaves it entirely unapplied and a second run does nothing.
 * An advisory lock serializes concurrent runs (two containers starting at once). A file must
 * not contain BEGIN/COMMIT: it would end our transaction, which is detected and refused.
 * Each applied file's checksum is kept: a file edited after it was applied is reported (not
 * applied again: write a new migration instead). */
#ifndef MIGRATE_H
#define MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#define MIGRATE_TABLE "schema_migrations"
/* Environment variable naming the schema directory, and the installed fallback. */
#define MIGRATE_DIR_ENV "BILLING_SCHEMA_DIR"
#define MIGRATE_SYSTEM_DIR "/usr/share/cdn/schema"
#define MIGRATE_FILE_MAX (16 * 1024 * 1024) /* bytes of one migration file */
#define MIGRATE_NAME_MAX 255

typedef struct migration {
    int version;                     /* NNN */
    char file[MIGRATE_NAME_MAX + 1]; /* "001_init.sql" */
    uint64_t checksum;               /* FNV-1a 64 of the file's bytes, once read */
} migration_t;

typedef enum {
    MIGRATE_APPLIED, /* applied now */
    MIGRATE_SKIPPED, /* applied before */
    MIGRATE_CHANGED, /* applied before, and the file differs from what was applied */
} migrate_status_t;

/* Where the migrations are: opt (--schema) if given; else $BILLING_SCHEMA_DIR; else ./schema;
 * else ../schema next to the executable; else ../share/cdn/schema next to it (`make install`
 * with any PREFIX); else MIGRATE_SYSTEM_DIR. 0, or -1 with err naming the
 * places tried. */
int migrate_find_dir(const char *opt, char *out, size_t cap, char *err, size_t errlen);

/* The migrations of dir, by version. Refuses a .sql file that is not named NNN_name.sql and two
 * files of one version. *out is the caller's to free(). */
int migrate_list(const char *dir, migration_t **out, size_t *n, char *err, size_t errlen);

/* Applies what is not applied yet, in order; reports every file through cb (may be NULL).
 * Returns how many were applied, or -1 with err (naming the file and line at fault). */
int migrate_apply(PGconn *c, const char *dir,
                  void (*cb)(void *ctx, const migration_t *m, migrate_status_t st), void *ctx,
                  char *err, size_t errlen);

#endif
