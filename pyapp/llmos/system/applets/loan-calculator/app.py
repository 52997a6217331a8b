"""Loan calculator: a Panel applet shipped with LLMos, and an example for the agent.

A Panel applet is a script that ends with ``.servable()``: widgets, and outputs bound to them
with ``pn.bind`` so that moving a widget recomputes what depends on it.
"""

# Panel's widget constructors are untyped and LLMos type-checks its files strictly.
# mypy: disable-error-code="no-untyped-call"
import panel as pn

pn.extension()


def monthly_payment(amount: float, rate_percent: float, years: int) -> float:
    """The fixed monthly payment that repays ``amount`` over ``years`` at a yearly rate."""
    months = years * 12
    monthly_rate = rate_percent / 100 / 12
    if monthly_rate == 0:
        return amount / months
    return amount * monthly_rate / (1 - (1 + monthly_rate) ** -months)


def summary(amount: float, rate_percent: float, years: int) -> str:
    payment = monthly_payment(amount, rate_percent, years)
    total = payment * years * 12
    return (
        f"**Monthly payment: {payment:,.2f}**\n\n"
        f"Total repaid: {total:,.2f} (interest {total - amount:,.2f})"
    )


amount = pn.widgets.FloatInput(label="Amount borrowed", value=200_000, start=0, step=1_000)
rate = pn.widgets.FloatSlider(label="Interest (% a year)", start=0, end=15, step=0.1, value=4.0)
years = pn.widgets.IntSlider(label="Years", start=1, end=40, value=25)

pn.Column(
    "## Loan calculator",
    amount,
    rate,
    years,
    pn.pane.Markdown(pn.bind(summary, amount, rate, years)),
).servable(title="Loan calculator")
