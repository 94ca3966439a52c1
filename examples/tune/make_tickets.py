"""Write tickets.jsonl: a synthetic support-ticket dataset for ``lockgate tune`` (no personal data).

Each line is one chat in OpenAI's fine-tuning format: a system prompt, a ticket written by a
customer of the fictional "Nimbus Notes" app, and the answer the model must learn — a JSON
object with the ticket's category and priority.  The category follows from what the ticket is
about and the priority from how urgent the customer says it is, so the mapping is learnable
but not keyword-trivial (several phrasings per class, mixed with openers and closers).

Deterministic: ``python examples/tune/make_tickets.py`` always writes the same file.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SEED = 2026
COUNT = 360
SYSTEM = (
    'Triage the ticket. Reply with only JSON: {"category": billing|technical|account|shipping|'
    'feature_request, "priority": low|medium|high|urgent}'
)

ISSUES = {
    "billing": [
        "I was charged twice for the Team plan this month",
        "the invoice for last month shows the wrong amount",
        "my refund for the cancelled plan has not arrived",
        "the price of our subscription went up without notice",
        "the card payment keeps getting declined at checkout",
        "we were billed for seats we removed weeks ago",
        "the VAT line on our invoice looks wrong",
    ],
    "technical": [
        "the app crashes every time I open a shared notebook",
        "exporting a notebook to CSV fails with a server error",
        "sync stopped working after the latest update",
        "the editor freezes when I paste a large table",
        "search returns no results even for notes I can see",
        "images in my notes no longer load on the desktop app",
        "the Android widget shows a blank screen",
    ],
    "account": [
        "I cannot reset my password, the reset link has expired",
        "please change the owner of our workspace to a colleague",
        "I want to close my account and delete my data",
        "two-factor codes from my authenticator are rejected",
        "I am locked out after too many sign-in attempts",
        "our single sign-on login sends me back to the start page",
        "please merge my two accounts into one",
    ],
    "shipping": [
        "the printed notebook I ordered has not arrived",
        "the parcel with our branded notebooks arrived damaged",
        "the tracking for my order has not moved for a week",
        "I received the wrong colour of the paper planner",
        "the delivery was left at the wrong building",
        "half of the box of sticker packs is missing",
        "customs is holding our shipment of desk planners",
    ],
    "feature_request": [
        "it would be great to have a dark mode on the web app",
        "please add an option to export notebooks as PDF",
        "could you add keyboard shortcuts for headings",
        "we would love a public API for bulk importing notes",
        "please let us pin notes to the top of a notebook",
        "an offline mode for the mobile app would help a lot",
        "could tags get colours so they are easier to spot",
    ],
}

URGENCY = {
    "urgent": [
        "Our whole team is blocked and nothing works right now.",
        "This is an emergency: the service is down for all of us.",
        "Everything has stopped and we are losing customers every minute.",
        "Critical: our entire company cannot work until this is fixed.",
    ],
    "high": [
        "We need this sorted today, it blocks an important deadline.",
        "Please treat this as a priority, several people are affected.",
        "This is seriously hurting our work this week.",
        "Please help quickly, a client presentation depends on it.",
    ],
    "medium": [
        "It is annoying, but we have a workaround for now.",
        "Please look into it sometime this week.",
        "Not blocking us, but it should be fixed soon.",
        "We can live with it for a few days.",
    ],
    "low": [
        "No rush at all, whenever you have time.",
        "Just a small thing, no hurry.",
        "Only a minor annoyance, low importance for us.",
        "Take your time, this can wait.",
    ],
}

# a feature request is never more than medium
PRIORITIES = {c: list(URGENCY) if c != "feature_request" else ["medium", "low"] for c in ISSUES}
OPENERS = ["Hello,", "Hi team,", "Good morning,", "Hi there,", "Dear support,", ""]
CLOSERS = ["Thanks.", "Thank you!", "Best regards.", "Cheers.", ""]


def ticket(rng: random.Random) -> tuple[str, dict[str, str]]:
    category = rng.choice(sorted(ISSUES))
    priority = rng.choice(PRIORITIES[category])
    issue = rng.choice(ISSUES[category])
    urgency = rng.choice(URGENCY[priority])
    parts = [rng.choice(OPENERS), issue[0].upper() + issue[1:] + ".", urgency, rng.choice(CLOSERS)]
    if rng.random() < 0.5:  # sometimes the urgency comes first
        parts[1], parts[2] = parts[2], parts[1]
    return " ".join(p for p in parts if p), {"category": category, "priority": priority}


def main() -> None:
    rng = random.Random(SEED)
    seen: set[str] = set()
    lines: list[str] = []
    while len(lines) < COUNT:
        text, label = ticket(rng)
        if text in seen:
            continue
        seen.add(text)
        messages = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": text},
            {"role": "assistant", "content": json.dumps(label)},
        ]
        lines.append(json.dumps({"messages": messages}, ensure_ascii=False))
    out = Path(__file__).with_name("tickets.jsonl")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} examples to {out}")


if __name__ == "__main__":
    main()
