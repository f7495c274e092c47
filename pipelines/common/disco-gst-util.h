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

/* Unlinks the src pad @src from its peer from an IDLE probe, so no buffer
 * or event is in flight on the link when it goes, and returns once that
 * happened (at once if @src is idle or unlinked; else when its streaming
 * thread leaves the current push, at most @timeout_ms).  Call it before
 * releasing a request pad or stopping the peer.  Must not be called from
 * @src's streaming thread while it pushes.  FALSE on timeout (the probe
 * stays and unlinks later). */
gboolean disco_gst_pad_unlink_idle (GstPad *src, guint timeout_ms);

G_END_DECLS
