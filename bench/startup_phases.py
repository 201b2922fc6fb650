"""Where a first frame's time goes, for bench/tui_bench.py --startup: run in a tmux pane as

    python bench/startup_phases.py minimal|plain|configure OUT

it starts that app (the minimal Textual app, the plain-Textual form of bench/plain_form_app.py,
or `hpo-tui`'s configure screen), notes the time of each phase from the script's start, and
appends them to OUT as a JSON line once the first frame holding the screen's marker is written
to the terminal; then it exits at once. The phases:

  textual      `import textual.app`
  app code     the app's own modules (hpo_tui's, or the yardstick's; each imports the Textual
               widgets it uses)
  to compose   the app starts (driver, style sheets, the app's mount) until the screen composes
  compose      composing, mounting and styling the screen's widgets, until the screen's Mount
  to frame     the screen's on_mount, layout and the first paint, until it is written

Patching for the measurement only: the driver's write (to see the frame) and the screen's
compose and on_mount (to note the time); nothing else changes.
"""

from __future__ import annotations

import json
import os
import sys
import time

T0 = time.perf_counter()
marks: dict[str, float] = {}


def mark(name: str) -> None:
    marks.setdefault(name, time.perf_counter() - T0)


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in ("minimal", "plain", "configure"):
        print("usage: python bench/startup_phases.py minimal|plain|configure OUT (tui_bench.py --startup runs it "
              "in tmux)", file=sys.stderr)
        return 2
    which, out = sys.argv[1], sys.argv[2]
    import textual.app  # noqa: F401

    mark("textual")
    from textual.drivers.linux_driver import LinuxDriver

    marker = {"minimal": "Minimal Textual app"}.get(which, "Hyperparameter ranges")
    write = LinuxDriver.write

    def written(self, data: str) -> None:
        write(self, data)
        if marker in data:
            mark("frame")
            with open(out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps({"app": which, **marks}) + "\n")
            os._exit(0)

    LinuxDriver.write = written
    bench = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, bench)
    if which == "configure":
        sys.path.insert(0, os.path.dirname(bench))
        import hpo_tui.app.app  # noqa: F401 (what `hpo-tui` imports before its first frame)
        from hpo_tui.app.screens.configure import ConfigureScreen as screen_class
        from hpo_tui.cli import main as cli_main

        run = lambda: cli_main([])  # noqa: E731
    else:
        sys.argv = sys.argv[:1]
        if which == "plain":
            from plain_form_app import PlainFormApp as screen_class
        else:
            from minimal_textual_app import MinimalApp as screen_class
        run = lambda: screen_class().run()  # noqa: E731
    mark("app code")
    compose, on_mount = screen_class.compose, getattr(screen_class, "on_mount", None)

    def composing(self):
        mark("compose")
        yield from compose(self)

    def mounted(self):  # Textual passes the Mount event only to a handler that takes it
        mark("mounted")
        if on_mount is not None:
            return on_mount(self)

    screen_class.compose = composing
    screen_class.on_mount = mounted
    run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
