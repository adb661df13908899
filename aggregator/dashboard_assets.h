/* dashboard_assets.h: the dashboard's files (aggregator/dashboard/), built into the binary.
 *
 * dashboard_assets.c is generated into the build folder by tools/embed-assets (a Makefile rule,
 * from the files under aggregator/dashboard/, the only copy); the unit test test_assets checks
 * it against the files, so the page served is always the page in the tree.
 * The aggregator serves dash_assets[i].name at /NAME (index.html also at /). */
#ifndef DASHBOARD_ASSETS_H
#define DASHBOARD_ASSETS_H

#include <stddef.h>

typedef struct dash_asset {
    const char *name;          /* file name, e.g. "app.js" */
    const char *type;          /* Content-Type */
    const unsigned char *data; /* the file's bytes (followed by a NUL not counted in len) */
    size_t len;
    const char *etag; /* quoted strong ETag: the start of the file's SHA-256 */
} dash_asset_t;

/* Every file, sorted by name. */
extern const dash_asset_t dash_assets[];
extern const size_t dash_nassets;

#endif
