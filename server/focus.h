/* focus.h: one disco-focus daemon instance: config, SIP agent, status page.
 *
 * DiscoFocus owns everything it creates and runs on the default GLib main
 * context.  Call its functions only from the main thread.
 */
#pragma once

#include <gio/gio.h>
#include <json-c/json.h>

#include "focus-config.h"
#include "disco-web.h"

G_BEGIN_DECLS

typedef struct _DiscoFocus DiscoFocus;

/* Takes ownership of @config.  Binds every listen address. */
DiscoFocus *disco_focus_new (DiscoFocusConfig *config, GError **error);

/* The bound addresses as one stable "key=value ..." line (no newline). */
char *disco_focus_ready_line (DiscoFocus *focus);

/* Status snapshot (schema disco.status/2); returns a new reference. */
json_object *disco_focus_status (DiscoFocus *focus);

/* Appends this focus's metrics. */
void disco_focus_metrics (DiscoFocus *focus, DiscoWebMetrics *metrics);

/* Orderly shutdown: NUA shutdown sequence, then sockets closed.  Returns
 * FALSE if a step timed out (the rest still runs). */
gboolean disco_focus_shutdown (DiscoFocus *focus);

void disco_focus_free (DiscoFocus *focus);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoFocus, disco_focus_free)

G_END_DECLS
