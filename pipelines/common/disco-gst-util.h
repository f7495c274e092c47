/* disco-gst-util.h: small GStreamer plumbing shared by the audio and video
 * rooms.  No state; every function works on what it is given. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Links @elems (@n >= 1, all non-NULL, floating references taken) in order
 * inside a new bin with ghost "sink" and "src" pads.  On a link failure the
 * bin and its elements are dropped and @error is set in @domain / @code. */
GstElement *disco_gst_chain_bin (GstElement **elems, guint n, GQuark domain, gint code,
                                 GError **error);

/* Sends the sticky events an app-fed pad needs before its first buffer:
 * stream-start with @stream_id, @caps, and a TIME segment from 0 (the same
 * segment udpsrc uses, so timestamps carry over). */
void disco_gst_feed_begin (GstPad *feed, const char *stream_id, GstCaps *caps);

/* Unlinks @feed from its peer, deactivates it and drops the caller's
 * reference (transfer full). */
void disco_gst_feed_release (GstPad *feed);

G_END_DECLS
