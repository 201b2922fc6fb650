"""A DataTable that stays fast at 10,000 one-line rows: the only module that touches
DataTable's private API (tests/app/test_textual_internals_fenced.py keeps it so).

Textual is pinned to the minor version these are written against (pyproject: textual>=8.2,<8.3);
each private use says what it relies on. Moving the pin: run tests/app/test_scale.py (it
compares this table's lines with DataTable's own render) and bench/tui_bench.py --scale.

Why not `textual-fastdatatable` (harlequin's table), measured: its pyarrow (26.0.1) installs
170 MB, over half again the 317 MB of a base install (bench/install_size.py); and its
ArrowBackend.update_cell rebuilds the cell's whole column through Python, 50 ms of CPU for
one poll's 80 changed cells at 10,000 rows before anything is drawn
(bench/fastdatatable_cells.py), with plain values for cells (no styled Text: the best row,
the statuses' colours). Here a whole refresh of 20 changed jobs at 10,000 rows, drawing
included, is 33.5 ms of UI-thread CPU, as before this module was split out (33.1 ms at
0ba0199, same run: bench/tui_bench.py --scale --against 0ba0199).

What it changes, against DataTable's own path:
- `_set_cell` writes one cell and drops that cell's cached renders only (update_cell bumps
  the update count that keys every cache, so every visible cell is rendered again).
- `apply_order` puts rows in a new order by patching the moved range of the row index
  (sort() renumbers every row and rebuilds two O(N) lists).
- a cell's render without its row/column meta is shared between equal cells.
- every row is one line: the row on line y is the row at index y.
"""

from __future__ import annotations

from typing import Any, Iterable

from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._two_way_dict import TwoWayDict  # HACK: DataTable's row index type (apply_order)
from textual.geometry import Region
from textual.renderables.styled import Styled
from textual.strip import Strip
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, Row, RowKey

from hpo_tui.app.widgets.tables import KeyedTable

MOVED_ROWS_DROPPED = 200  # apply_order: more moved rows than this drop every cached render at once
RENDER_CACHE_SIZE = 5000  # entries in each of the table's own render caches (a few screens of cells)


class _ComponentStyles:
    """A component's styles with its rich style composed once."""

    def __init__(self, styles: Any) -> None:
        self._styles = styles
        self.rich_style = styles.rich_style

    def __getattr__(self, name: str) -> Any:
        return getattr(self._styles, name)


def drop_renders(table: DataTable) -> None:
    """Drop every cached render of a DataTable (this one or another) and paint it again:
    Textual 8.2 can keep the cursor row rendered with widths from before the columns were
    measured (its render caches are keyed by update count, not by column widths)."""
    table._clear_caches()  # PRIVATE: every render cache and the row lists
    table.refresh()


class FastTable(KeyedTable):
    """Rows keyed by name, every row one line of rich Text cells."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._row_keys: dict[str, RowKey] = {}  # DataTable's key of each row, by name
        self._rows_by_name: dict[str, Row] = {}  # DataTable's rows (self.rows is keyed by RowKey: slow hashes)
        self._repaint_due = False  # a repaint after the next frame is scheduled (_repaint_after_refresh)
        self._repaint_rows: set[RowKey] = set()  # the rows it repaints
        self._frame_styles: dict[tuple[str, ...], _ComponentStyles] = {}  # this frame's (render_lines)
        self._frame_rich_style: Style | None = None  # while render_lines draws (rich_style)
        # Render caches of our own (_render_cell, _with_meta): plain dicts, emptied when full
        # (an LRUCache lookup is a Python call, and a cell makes five of them).
        self._shared_cell_renders: dict[tuple, list[list[Segment]]] = {}
        self._meta_styles: dict[tuple[int, int], Style] = {}
        self._styled_with_meta: dict[tuple[Style, Style], Style] = {}
        self._stale_cells: set[tuple[RowKey, ColumnKey]] = set()  # cached renders to drop before the next frame
        self._stale_rows: set[RowKey] = set()  # rows whose every cached render goes before the next frame

    # --- rows and cells -------------------------------------------------------------

    def add_named_row(self, name: str, cells: Iterable[Text]) -> None:
        row_key = self._row_keys[name] = self.add_row(*cells, key=name)
        self._rows_by_name[name] = self.rows[row_key]

    def remove_named_row(self, name: str) -> None:
        self.remove_row(name)
        del self._row_keys[name], self._rows_by_name[name]

    def _set_cell(self, row: str, key: str, cell: Text) -> None:
        """Rewrite one cell; only that cell is rendered again.

        DataTable.update_cell bumps the table's update count, which is part of every render
        cache key: each changed cell makes every visible row render again cell by cell (about
        4,400 cells through rich's Padding for 20 changed jobs) and rebuilds the row order and
        the line offsets of all N rows. Here the cell is written into the table's data and only
        its cached renders (and its line's) are dropped (_drop_stale_renders, once per frame).

        The column is not measured again either: Textual's update_width=True re-measures the
        whole column whenever the new cell is narrower than the column (every objective value
        is narrower than its header): a full-column pass per changed job, 1 s at 5,000 rows.
        Columns keep the width they were given by their rows and grow when a wider value
        arrives; they never shrink while the table is shown (nor jump about while you read it).
        """
        row_key, column_key = RowKey(row), ColumnKey(key)
        cells = self._data.get(row_key)  # PRIVATE: _data[row_key][column_key] is the cell DataTable draws
        if cells is None or column_key not in self._column_locations:  # PRIVATE: column key -> index
            raise CellDoesNotExist(f"No cell exists for row_key={row!r}, column_key={key!r}.")
        cells[column_key] = cell
        self._stale_cells.add((row_key, column_key))
        self._refresh_line_of(row_key)
        self._repaint_after_refresh(row_key)
        column = self.columns.get(column_key)
        if column is not None and column.auto_width and cell.cell_len > column.content_width:
            # Grown here, at once: leaving it to update_width would re-measure the column
            # when two wider values arrive in one batch (the second is narrower than the first).
            column.content_width = cell.cell_len
            self._require_update_dimensions = True  # PRIVATE: DataTable's flag for a new virtual width on idle

    def set_column_label(self, key: str, label: Text) -> None:
        """A column's new label (the curve's scale): the header row is rendered again."""
        column = self.columns.get(ColumnKey(key))
        if column is None:
            return
        column.label = label
        # PRIVATE: the header row's renders are cached under this key, like a row's.
        self._stale_cells.add((self._header_row_key, ColumnKey(key)))
        self.refresh()

    def clear_caches_after_refresh(self) -> None:
        """Drop every cached render after the coming frame: Textual 8.2 can keep the cursor
        row rendered with widths from before the columns were measured."""
        self.call_after_refresh(self._clear_caches)  # PRIVATE: every render cache and the row lists

    def _repaint_after_refresh(self, row_key: RowKey) -> None:
        """Refresh this row's line once more after the coming frame.

        Cells rewritten without measuring their column again (_set_cell) can be left painted
        with their old text in a real terminal under load (rows still InProgress under a
        Completed header until anything forces a full repaint), while the table's data and
        a headless full render are right (tests/app/test_tmux_e2e.py). One call per frame, however many cells changed;
        it refreshes the lines of the rows written, not the table.
        """
        self._repaint_rows.add(row_key)
        if not self._repaint_due:
            self._repaint_due = True
            self.call_after_refresh(self._repaint)

    def _repaint(self) -> None:
        self._repaint_due = False
        rows, self._repaint_rows = self._repaint_rows, set()
        for row_key in rows:
            self._refresh_line_of(row_key)

    def _refresh_line_of(self, row_key: RowKey) -> None:
        """Repaint the line showing this row, if it is in view (every row is one line high):
        a poll that rewrites the cells of 3 rows on screen repaints 3 lines, not 40."""
        index = self._row_locations.get(row_key)  # PRIVATE: row key -> row index (TwoWayDict)
        if index is None:
            return
        y = index + (self.header_height if self.show_header else 0)
        region = Region(0, y, max(self.size.width, self.virtual_size.width), 1)
        if self.window_region.overlaps(region):
            self.refresh(region.translate(-self.scroll_offset))

    # --- order ----------------------------------------------------------------------

    def apply_order(self, wanted: list[str], changed: tuple[int, int] | None) -> None:
        """Put the rows in the order `wanted` (the same rows), where only the indexes
        `changed` (first, last) hold another row than before (None: every index).

        What DataTable.sort does once it has sorted, without a key function called on every
        row's cells, and for the rows that moved only. DataTable.sort renumbers every row and
        bumps its update count, so every cached render and both row lists (O(N)) go. Here
        only the moved range gets its new index, and DataTable's ordered row list is patched
        there; a few moved rows lose their renders (a job moving within the top 20
        re-renders 20 rows, not the screen), many bump the update count instead.
        """
        row_keys, rows = self._row_keys, self._rows_by_name
        if changed is None:  # rows came or went
            # PRIVATE: _row_locations maps row key <-> index; _update_count keys every render cache.
            self._row_locations = TwoWayDict({row_keys[name]: index for index, name in enumerate(wanted)})
            self._update_count += 1
            self._set_ordered_rows(list(map(rows.__getitem__, wanted)))
            self.refresh()
            return
        lo, hi = changed
        moved = list(map(row_keys.__getitem__, wanted[lo:hi + 1]))
        # PRIVATE: TwoWayDict's two dicts, updated in C (its __setitem__ is a Python call per row).
        self._row_locations._forward.update(zip(moved, range(lo, hi + 1)))
        self._row_locations._reverse.update(zip(range(lo, hi + 1), moved))
        # PRIVATE: DataTable's ordered rows, cached under (row count, update count).
        ordered = self._ordered_row_cache.get((self.row_count, self._update_count))
        if len(moved) <= MOVED_ROWS_DROPPED:
            self._stale_rows.update(moved)
            self._offset_cache.clear()  # PRIVATE: DataTable's line offsets (unused here: _get_offsets)
        else:
            self._update_count += 1  # every cached render goes at once
        if ordered is None:
            ordered = list(map(rows.__getitem__, wanted))
        else:
            ordered[lo:hi + 1] = map(rows.__getitem__, wanted[lo:hi + 1])
        self._set_ordered_rows(ordered)
        self.refresh()

    def _set_ordered_rows(self, ordered: list[Row]) -> None:
        """DataTable's ordered_rows, kept: rebuilt by DataTable, it is a Python pass over every
        row (5 ms at 10,000), and a frame asks for it after each new order (_get_fixed_offset)."""
        self._ordered_row_cache.clear()  # PRIVATE: ordered_rows reads this LRU cache first
        self._ordered_row_cache[(self.row_count, self._update_count)] = ordered

    # --- rendering --------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        self._frame_styles.clear()  # styles can only change between frames
        if self._stale_cells or self._stale_rows:
            self._drop_stale_renders()
        self._frame_rich_style = super().rich_style
        try:
            return super().render_lines(crop)
        finally:
            self._frame_rich_style = None

    def get_component_styles(self, *names: str) -> Any:
        """A component's styles, built once a frame: DataTable asks for three or four of
        them for every row it draws, and each is built again and its rich style composed
        through every ancestor (0.2 ms a row)."""
        styles = self._frame_styles.get(names)
        if styles is None:
            styles = self._frame_styles[names] = _ComponentStyles(super().get_component_styles(*names))
        return styles

    @property
    def rich_style(self) -> Style:
        """The table's style, composed once a frame (render_lines): DataTable asks for it on
        every line it draws, and Textual composes it through every ancestor each time (0.1 ms
        a line). Outside a frame it is composed when asked, as Textual does."""
        return self._frame_rich_style or super().rich_style

    def notify_style_update(self) -> None:
        self._frame_styles.clear()
        super().notify_style_update()

    def _drop_stale_renders(self) -> None:
        """Drop the cached renders of the cells that changed since the last frame, and the
        rows and lines they are drawn into (those are joined from the cached cells again).

        One pass over each of DataTable's render caches (at most 10,000 cells, 1,000 rows and
        1,000 lines) whatever the number of changed cells. Every other cell keeps its render:
        a frame after 20 jobs moved on renders their changed cells only, not the screen.
        """
        cells, self._stale_cells = self._stale_cells, set()
        moved, self._stale_rows = self._stale_rows, set()  # rows with a new index (apply_order)
        stale = {row_key for row_key, _ in cells} | moved
        # PRIVATE: DataTable's four render caches (LRUCache) and the layout of their keys.
        for cache_key in [k for k in self._cell_render_cache.keys() if (k[0], k[1]) in cells or k[0] in moved]:
            self._cell_render_cache.discard(cache_key)  # (row key, column key, styles..., update count)
        for cache_key in [k for k in self._row_render_cache.keys() if k[0] in stale]:
            self._row_render_cache.discard(cache_key)  # (row key, line in row, styles..., update count)
        locations = self._row_locations
        header = self._header_row_key
        for cache_key in [k for k in self._row_renderable_cache.keys()  # (update count, row index)
                          if (header if k[1] == -1 else locations.get_key(k[1])) in stale]:
            self._row_renderable_cache.discard(cache_key)
        for cache_key in list(self._line_cache.keys()):  # keyed by the line's y in the table
            try:
                row_key, _ = self._get_offsets(cache_key[0])
            except LookupError:
                row_key = None
            if row_key is None or row_key in stale:
                self._line_cache.discard(cache_key)

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> list[list[Segment]]:
        """OVERRIDE (private): DataTable's cell render, with rich's work shared between equal cells.

        Rich renders a one-line Text cell in about 0.15 ms, and DataTable renders every
        visible cell again whenever rows move (a sort, a new best): 450 cells, 70 ms a frame.
        What a cell looks like depends on its text, width and styles only, except for the
        row and column meta every segment carries (mouse clicks read it). So the render
        without the meta is shared (a moved row, "Completed", "sgd" in many rows) and the
        meta is added to a copy: the same segments DataTable makes (a test compares them).
        """
        if row_index < 0 or column_index < 0:  # the header and row labels: DataTable's own path
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        # PRIVATE: DataTable's own cell cache key (its _render_cell builds the same tuple).
        cache_key = (row_key, column_key, base_style, cursor, hover, self._show_hover_cursor,
                     self._update_count, self._pseudo_class_state)
        lines = self._cell_render_cache.get(cache_key)
        if lines is not None:
            return lines
        row = self.rows.get(row_key) if row_key is not None else None
        cell = self._data[row_key].get(column_key) if row is not None else None
        if row is None or row.height != 1 or not isinstance(cell, Text):
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        fixed = row_index < self.fixed_rows or column_index < self.fixed_columns
        # PRIVATE: the (component, post) styles DataTable gives a cell (an lru_cache'd method).
        component_style, post_style = self._get_styles_to_render_cell(
            False, False, fixed, hover, cursor, self.show_cursor, self._show_hover_cursor,
            self.cursor_foreground_priority == "css", self.cursor_background_priority == "css")
        pre_style = base_style + component_style
        shared_key = (cell.plain, cell.style, tuple(cell.spans), cell.justify, cell.overflow, cell.no_wrap,
                      width, pre_style, post_style)
        plain_lines = self._shared_cell_renders.get(shared_key)
        if plain_lines is None:
            options = self.app.console_options.update_dimensions(width, 1).update(no_wrap=True)
            plain_lines = self.app.console.render_lines(
                Styled(Padding(cell, (0, self.cell_padding)), pre_style=pre_style, post_style=post_style), options)
            if len(self._shared_cell_renders) >= RENDER_CACHE_SIZE:
                self._shared_cell_renders.clear()
            self._shared_cell_renders[shared_key] = plain_lines
        lines = self._with_meta(plain_lines, row_index, column_index)
        self._cell_render_cache[cache_key] = lines
        return lines

    def _with_meta(self, lines: list[list[Segment]], row_index: int, column_index: int) -> list[list[Segment]]:
        """The segments with the row and column meta added to their styles, as DataTable
        adds it (Segment.apply_style's post_style). Rich builds a styled meta by pickling
        the merged dict each time: the meta style of each place, and each style with it,
        are kept instead (a cell then costs a few dict lookups)."""
        place = (row_index, column_index)
        meta = self._meta_styles.get(place)
        if meta is None:
            if len(self._meta_styles) >= RENDER_CACHE_SIZE:
                self._meta_styles.clear()
            meta = self._meta_styles[place] = Style.from_meta({"row": row_index, "column": column_index})
        styled = self._styled_with_meta
        if len(styled) >= 4 * RENDER_CACHE_SIZE:
            styled.clear()
        out = []
        for line in lines:
            new_line = []
            for text, style, control in line:
                if control:
                    new_line.append(Segment(text, None, control))
                    continue
                if style is None:
                    new_line.append(Segment(text, meta, control))
                    continue
                combined = styled.get((style, meta))
                if combined is None:
                    combined = styled[(style, meta)] = style + meta
                new_line.append(Segment(text, combined, control))
            out.append(new_line)
        return out

    # OVERRIDES (private): every row here is one line high (add_row's default height), so the
    # row drawn on line y is the row at index y. DataTable finds it in a list of every row's
    # lines instead, rebuilt after each sort (30 ms at 10,000 rows, for the 40 lines on screen).

    def _get_offsets(self, y: int) -> tuple[RowKey, int]:
        if self.show_header:
            if y < self.header_height:
                return self._header_row_key, y
            y -= self.header_height
        row_key = self._row_locations.get_key(y)
        if row_key is None:
            raise LookupError(f"Y coord {y!r} is greater than total height")
        return row_key, 0

    @property
    def _total_row_height(self) -> int:  # OVERRIDE (private): the sum of the rows' heights
        return self.row_count

    def _update_dimensions(self, new_rows: Iterable[Any]) -> None:
        """OVERRIDE (private): size the columns for new rows, then let DataTable compute the
        table's size.

        Every cell here is one line of rich Text, whose width is its cell length: DataTable
        measures each new cell through the console instead (2 s of the first frame at
        5,000 rows, before any row was drawn). Cells of another shape keep its measure.
        """
        remaining = []
        for row_key in new_rows:
            cells = self._data.get(row_key)
            if cells is None:
                continue  # removed before the idle pass
            for column_key, cell in cells.items():
                column = self.columns.get(column_key)
                if column is None:
                    continue
                if not isinstance(cell, Text) or "\n" in cell.plain:
                    remaining.append(row_key)
                    break
                if cell.cell_len > column.content_width:
                    column.content_width = cell.cell_len
        super()._update_dimensions(remaining)
