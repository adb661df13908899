/* invoice.h: `billing invoice`, a month's invoices: priced (pricing.h), stored and read back
 * (invoice_db.h), printed as text, CSV or JSON (invoice_fmt.h). billing/main.c dispatches
 * `billing invoice ...` here; invoice.c's opening comment describes the run. */
#ifndef INVOICE_H
#define INVOICE_H

/* `billing invoice [options]`: argv[0] is "invoice". Returns the exit status: 0; 1 for a
 * database or output failure, or with --strict when something needs attention; 2 for bad usage
 * (a message naming the option on stderr). */
int invoice_main(int argc, char **argv);

#endif
