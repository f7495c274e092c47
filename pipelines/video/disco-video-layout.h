/* disco-video-layout.h: internal; grid geometry of DiscoVideoRoom.
 *
 * Pure functions, no GStreamer: the tests check them directly.
 */
#pragma once

#include "disco-video-room.h"

G_BEGIN_DECLS

/* Columns and rows of the grid for @n pictures (0 for n == 0). */
void disco_video_layout_grid (guint n, guint *cols, guint *rows);

/* Cell @index (0-based, join order) of the grid for @n pictures on a
 * @width x @height canvas.  Cells have even sizes and offsets (I420); an
 * incomplete last row is centred.  FALSE if @index >= @n. */
gboolean disco_video_layout_cell (guint n, guint index, guint width, guint height,
                                  DiscoVideoRect *out);

G_END_DECLS
