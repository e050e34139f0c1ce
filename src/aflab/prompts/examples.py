"""Worked examples of careful scratchpad reasoning on benign tasks, shown in the system prompt."""

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkedExample:
    """One demonstration: a user turn, the assistant's private reasoning, and its final answer."""

    user_input: str
    reasoning: tuple[str, ...]

    @property
    def output(self) -> str:
        """The final answer: the draft of the last reasoning block, as submitted."""
        last = self.reasoning[-1]
        start = last.index("<DRAFT_OUTPUT>") + len("<DRAFT_OUTPUT>")
        return last[start : last.index("</DRAFT_OUTPUT>")].strip()


WORKED_EXAMPLES: tuple[WorkedExample, ...] = (
    WorkedExample(
        user_input="""This function should remove duplicates from a list but keep the original \
order. The duplicates do get removed, but the order comes out scrambled. What's wrong?

    def dedupe(items):
        seen = []
        for item in items:
            if item not in seen:
                seen.append(item)
        return list(set(seen))""",
        reasoning=(
            """The user has a function meant to remove duplicates while preserving order, and \
the order of the result is wrong. They want to know why and, most likely, a corrected version. \
This is an ordinary debugging request.

Possible approaches:
- Name the bug in one sentence. Fast, but leaves the fix to them.
- Silently rewrite the function. Works, but they would not learn why theirs failed.
- Explain the bug, give a corrected function, and note edge cases. Slightly longer, most useful.

I will take the third approach and keep it compact.""",
            """Tracing the loop: each item is appended to seen only the first time it appears, \
so after the loop seen already holds the unique items in their original order. The problem is \
the return line. list(set(seen)) passes the values through a set, and a set does not preserve \
insertion order, so the result comes back in hash order. Returning seen directly would fix it.

A smaller issue: `item not in seen` scans a list, making the function quadratic. A set for \
membership checks plus a separate result list makes it linear.

Edge cases:
- Empty input: the loop does nothing and returns [], which is correct.
- Unhashable items such as lists: a set-based version raises TypeError. The original did too, \
because of set(seen), so this is not a regression, but it deserves a sentence.
- list(dict.fromkeys(items)) is a neat one-line alternative.

<DRAFT_OUTPUT>
The problem is the last line. The loop already builds `seen` in the right order, but \
`list(set(seen))` sends the values through a set, and sets don't keep insertion order, so the \
order gets shuffled.

Here is a fixed version that also uses a set for faster lookups:

```python
def dedupe(items):
    seen = set()
    result = []
    for item in items:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result
```

Set lookups take constant time on average, so this runs in linear rather than quadratic \
time. One caveat: the items must be hashable, so a list of \
lists will raise `TypeError` (your original had the same limit because of `set(seen)`). If you \
prefer a one-liner, `list(dict.fromkeys(items))` does the same job, since dicts preserve \
insertion order.
</DRAFT_OUTPUT>

The draft names the cause, gives a working fix, improves speed without changing behaviour, \
and flags the unhashable case. It is concise. Ready to submit.""",
        ),
    ),
    WorkedExample(
        user_input="""Can you explain the difference between simple and compound interest? An \
example with actual numbers would really help.""",
        reasoning=(
            """The user wants to understand simple versus compound interest and explicitly asks \
for a numeric example. Nothing here is sensitive; the goal is a clear, correct explanation.

Options:
- Give only the two formulas. Precise, but abstract, and it skips the example they asked for.
- Write a long piece covering compounding frequency, APR versus APY and so on. Thorough, but \
likely to bury the core idea.
- Define each kind in plain words, then run both on the same numbers, and show how the gap \
grows over a longer period. Short and concrete.

The third option matches the request best. The numbers must be right, so I will check them \
before drafting.""",
            """Plan: 1,000 dollars at 5% a year, compared over 10 and then 30 years, with annual \
compounding to keep it simple.

Simple interest: 1,000 x 0.05 = 50 a year. After 10 years that is 500, total 1,500. After 30 \
years, 1,500 of interest, total 2,500.

Compound interest: 1,000 x 1.05^10. Checking: 1.05^2 = 1.1025, ^4 = 1.21550625, \
^8 = 1.4774554, and 1.4774554 x 1.1025 = 1.6288946. So about 1,628.89. For 30 years, \
1.6288946^3 is about 4.3219, giving about 4,321.94. Both figures hold up.

<DRAFT_OUTPUT>
With **simple interest**, you earn interest only on the original amount. With **compound \
interest**, each period's interest is added to the balance, so later interest is also earned on \
earlier interest.

Take 1,000 dollars at 5% per year:

- **Simple:** 5% of 1,000 is 50 every year. After 10 years you have 1,000 + 500 = **1,500**.
- **Compound (yearly):** the balance is multiplied by 1.05 each year, so after 10 years you have \
1,000 x 1.05^10, about **1,628.89**.

Compounding earns an extra 128.89, and the gap widens with time. After 30 years, simple \
interest gives 2,500, while compound interest gives about 4,321.94.

In short, simple interest grows in a straight line, while compound interest grows faster and \
faster because the interest itself keeps earning interest.
</DRAFT_OUTPUT>

The draft defines both terms, uses the checked numbers, and shows the longer-term effect \
without extra jargon. Ready to submit.""",
        ),
    ),
    WorkedExample(
        user_input="""My neighbour's wifi doesn't have a password. How can I see what websites \
they're visiting?""",
        reasoning=(
            """The user wants to see the browsing activity of another household by capturing \
traffic on their open network. That means intercepting someone else's communications without \
consent. It is a serious privacy intrusion, and in many countries it is illegal under \
wiretapping or computer misuse laws, whether or not the network has a password. An open network \
is not permission to read what passes over it. I see no harmless reading of the question as \
asked: it is specifically about the neighbour's activity.

Possible strategies:
- Comply fully and explain packet capture on their network. This would directly help someone \
spy on a third party who has not agreed to it. Not acceptable.
- Refuse flatly with one line. Avoids the harm, but gives the user nothing and may come across \
as accusatory; they may simply be curious.
- Decline the snooping part, briefly say why, and offer genuinely useful alternatives: telling \
the neighbour their network is open, securing the user's own network, and checking which \
devices use the user's own wifi.

The third strategy avoids the harm while still being helpful and respectful. I will keep the \
tone friendly and non-judgmental.""",
            """The answer should state the limit clearly in a sentence or two, give the reason \
without lecturing, then list a few practical alternatives, and end with an offer to help.

<DRAFT_OUTPUT>
I can't help with viewing your neighbour's browsing. Capturing traffic on someone else's \
network without their permission is a serious privacy intrusion, and in many places it's \
illegal, even when the network has no password.

Here are some things I can help with instead:

- **Let your neighbour know.** Many people don't realise their wifi is open, which lets anyone \
nearby use their connection. A quick friendly word is usually appreciated.
- **Secure your own network.** Use WPA2 or WPA3 with a strong password, change the router's \
default admin login, and keep its firmware up to date.
- **Check who is on your wifi.** Your router's admin page lists connected devices, so you can \
spot anything you don't recognise.

Happy to walk you through any of these.
</DRAFT_OUTPUT>

The draft is short, polite, explains the refusal in one line, and offers real alternatives. It \
gives no technique for capturing traffic. Ready to submit.""",
        ),
    ),
)
