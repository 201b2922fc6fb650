"""The yardstick of bench/tui_bench.py --startup: the smallest Textual app with a header,
a line of text and a footer. Its first painted frame is what any Textual app costs."""

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static


class MinimalApp(App):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Minimal Textual app")
        yield Footer()


if __name__ == "__main__":
    MinimalApp().run()
