"""The machinery every explorer shares: controls -> one render function -> PNG image + message.

A factory builds its controls, a ``render(values) -> (figure, arrays)`` function that calls
:mod:`labkit.viz` / :mod:`labkit.ops`, and hands both to :class:`Explorer`.  The explorer
re-renders whenever a control changes, shows the figure as PNG bytes in an
``ipywidgets.Image`` (a plain ``<img>`` in the browser, so nothing depends on a matplotlib
backend), and turns a ``ValueError`` (an invalid combination such as a window larger than the
padded image) into a message in an ``HTML`` widget instead of a traceback.

Figures are :class:`matplotlib.figure.Figure` objects that ``pyplot`` never sees: when the next
render replaces ``state.figure`` the old one is garbage, so a thousand slider moves do not
accumulate figures (``plt.get_fignums()`` is untouched).
"""

from __future__ import annotations

import html
import traceback

import ipywidgets as widgets

from labkit._validate import check_choice, check_float, check_int
from labkit.viz import style

#: CSS of the message line: red for invalid input, grey for information.
_MESSAGE_STYLE = {"error": "color:#b00020;font-weight:600", "info": "color:#555555"}


class Explorer:
    """State of one interactive explorer; the second item a widget factory returns.

    Attributes
    ----------
    controls : dict name -> ipywidgets widget
        Set ``state.controls["size"].value = 3`` to move a control (tests do exactly this).
    figure : Figure or None
        The last successfully rendered figure.
    arrays : dict
        The arrays behind that figure (what labkit computed), e.g. ``"output"``.
    error : str or None
        The message of the last render if it failed (invalid combination), else None.
    image : ipywidgets.Image
        PNG of ``figure``.
    message : ipywidgets.HTML
        Error or information line shown above the image.
    renders : int
        Number of successful renders (tests use it to see that a change re-rendered).
    ui : ipywidgets.VBox
        The whole widget (also the first item the factory returns).
    """

    def __init__(self, title: str, controls: dict, render, columns: int = 2,
                 dpi: int = style.WIDGET_DPI, info: str = ""):
        self.title = title
        columns = check_int(columns, "columns", "Explorer", min=1)
        dpi = check_int(dpi, "dpi", "Explorer", min=10, max=1200)
        if not isinstance(controls, dict) or not callable(render):
            raise ValueError("Explorer: controls must be a dict name -> widget and render a "  # noqa: TRY004
                             "function of the values")
        self.controls = dict(controls)
        self._render = render
        self._dpi = dpi
        self._hold = False
        self._in_callback = False
        self._on_values = []
        self.figure = None
        self.arrays: dict = {}
        self.error: str | None = None
        self.renders = 0
        self.info = info
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.image.add_class("labkit-explorer-image")
        self.message = widgets.HTML(layout=widgets.Layout(min_height="1.5em"))
        self.message.add_class("labkit-explorer-message")
        for c in self.controls.values():
            c.observe(self._changed, names="value")
        items = list(self.controls.values())
        per_col = -(-len(items) // max(1, columns)) if items else 0
        cols = [widgets.VBox(items[k:k + per_col]) for k in range(0, len(items), per_col or 1)]
        header = widgets.HTML(f"<b>{html.escape(title)}</b>")
        self.ui = widgets.VBox([header, widgets.HBox(cols), self.message, self.image])
        self.ui.add_class("labkit-explorer")
        self.update()

    # -- control values ------------------------------------------------------------------------
    def values(self) -> dict:
        """Current value of every control, by name."""
        return {k: c.value for k, c in self.controls.items()}

    def on_values(self, callback) -> None:
        """Call ``callback(state, name)`` after control ``name`` changed, before re-rendering
        (used to keep dependent controls consistent, e.g. a slider's maximum)."""
        self._on_values.append(callback)

    def set(self, **values) -> Explorer:
        """Set several controls at once and render once (not once per control)."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(f"{self.title}: unknown controls {sorted(unknown)}; "
                             f"have {sorted(self.controls)}")
        self._hold = True
        try:
            for k, v in values.items():
                self.controls[k].value = v
        finally:
            self._hold = False
        self.update()
        return self

    def _changed(self, change) -> None:
        if self._in_callback:
            return          # a callback adjusting a dependent control: render once, below
        name = next((k for k, c in self.controls.items() if c is change["owner"]), None)
        self._in_callback = True
        try:
            for callback in self._on_values:
                callback(self, name)
        finally:
            self._in_callback = False
        if not self._hold:
            self.update()

    # -- rendering -----------------------------------------------------------------------------
    def update(self) -> bool:
        """Render with the current values; returns True on success.

        A ``ValueError`` becomes the message (the previous image stays, dimmed, so the reader
        keeps context).  Any other exception is a bug in labkit, but it is still shown as a
        message with its type rather than escaping into the notebook as a traceback.
        """
        try:
            fig, arrays = self._render(self.values())
            png = style.figure_to_png(fig, dpi=self._dpi)
        except ValueError as err:
            self._fail(str(err), "error")
            return False
        except Exception as err:   # noqa: BLE001 - a widget callback must never raise
            detail = traceback.format_exception_only(type(err), err)[-1].strip()
            self._fail(f"internal error, please report: {detail}", "error")
            return False
        self.figure = fig
        self.arrays = arrays
        self.error = None
        self.renders += 1
        self.image.value = png
        self.image.layout.opacity = "1"
        self._show(self.info, "info")
        return True

    def _fail(self, text: str, kind: str) -> None:
        self.error = text
        self.image.layout.opacity = "0.35"
        self._show(text, kind)

    def _show(self, text: str, kind: str) -> None:
        self.message.value = (f'<span style="{_MESSAGE_STYLE[kind]}">{html.escape(text)}</span>'
                              if text else "")

    def __repr__(self) -> str:
        status = "ok" if self.error is None else f"error: {self.error}"
        return f"Explorer({self.title!r}, {self.values()}, renders={self.renders}, {status})"


def _option_values(options) -> list:
    return [o[1] if isinstance(o, tuple) and len(o) == 2 else o for o in options]


def check_control(owner: str, name: str, value, lo=None, hi=None, options=None,
                  kind: str = "int"):
    """Validate a factory argument before it becomes a control's initial value.

    ipywidgets would raise a ``TraitError`` from deep inside traitlets; this raises
    ``ValueError`` naming the factory (``owner``), the argument and the allowed range or
    choices.  Returns the value (an ``int`` or ``float`` for sliders).
    """
    if options is not None:
        return check_choice(value, name, owner, _option_values(options))
    if kind == "float":
        return check_float(value, name, owner, min=lo, max=hi)
    return check_int(value, name, owner, min=lo, max=hi)


def slider(description: str, value: int, lo: int, hi: int, step: int = 1) -> widgets.IntSlider:
    """An integer slider that re-renders on release only (rendering takes ~0.1-0.5 s)."""
    return widgets.IntSlider(value=value, min=lo, max=hi, step=step, description=description,
                             continuous_update=False, style={"description_width": "7em"},
                             layout=widgets.Layout(width="22em"))


def float_slider(description: str, value: float, lo: float, hi: float,
                 step: float) -> widgets.FloatSlider:
    """A float slider that re-renders on release only."""
    return widgets.FloatSlider(value=value, min=lo, max=hi, step=step, description=description,
                               continuous_update=False, style={"description_width": "7em"},
                               layout=widgets.Layout(width="22em"), readout_format=".3f")


def dropdown(description: str, options, value) -> widgets.Dropdown:
    """A drop-down list; ``options`` are values or ``(label, value)`` pairs."""
    return widgets.Dropdown(options=options, value=value, description=description,
                            style={"description_width": "7em"},
                            layout=widgets.Layout(width="22em"))


def toggles(description: str, options, value) -> widgets.ToggleButtons:
    """A row of toggle buttons; ``options`` are values or ``(label, value)`` pairs."""
    return widgets.ToggleButtons(options=options, value=value, description=description,
                                 style={"description_width": "7em", "button_width": "6em"})
