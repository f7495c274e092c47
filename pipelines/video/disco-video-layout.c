/* disco-video-layout.c: grid geometry for the composed canvas. */
#include "disco-video-layout.h"

#include <math.h>

void
disco_video_layout_grid (guint n, guint *cols, guint *rows)
{
  guint c = 0;
  while (c * c < n)
    c++;
  *cols = c;
  *rows = c ? (n + c - 1) / c : 0;
}

gboolean
disco_video_layout_cell (guint n, guint index, guint width, guint height, DiscoVideoRect *out)
{
  guint cols, rows;

  if (index >= n || width == 0 || height == 0)
    return FALSE;
  disco_video_layout_grid (n, &cols, &rows);
  guint cw = (width / cols) & ~1u;
  guint ch = (height / rows) & ~1u;
  guint row = index / cols, col = index % cols;
  guint in_row = row == rows - 1 ? n - row * cols : cols;
  /* Centre the grid on the canvas, and a short last row inside the grid. */
  guint x0 = ((width - cw * cols) / 2) & ~1u;
  guint y0 = ((height - ch * rows) / 2) & ~1u;
  guint shift = ((cols - in_row) * cw / 2) & ~1u;
  out->x = (gint)(x0 + shift + col * cw);
  out->y = (gint)(y0 + row * ch);
  out->width = (gint)cw;
  out->height = (gint)ch;
  return TRUE;
}
