"""Generate ``robustcheck/data/reviews.csv``, the labelled review set the demo ships with.

Every review is assembled from hand-written phrase lists below: per domain, aspects with
positive and negative predicates, neutral openers, staff roles, clauses with numbers and
verdicts, plus sentence templates shared by all domains and templates of each domain.
Some reviews are plain, some contrastive ("the food was bland, but the staff were
lovely") and some negated ("wasn't bad at all"); the label is the polarity the template
was generated for, which is what its final or ``but`` clause says. A word-level
bag-of-words model therefore cannot score 100% on it, which is the point.

Deterministic: one ``numpy.random.default_rng(SEED)`` drives every choice, so running

    python scripts/make_reviews.py

twice writes byte-identical files (UTF-8, ``\\n`` line endings, csv-module quoting).
"""

from __future__ import annotations

import argparse
import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SEED = 20240611
PER_DOMAIN = 150  # half positive, half negative
MIN_WORDS, MAX_WORDS = 6, 30
OUTPUT = Path(__file__).resolve().parents[1] / "robustcheck" / "data" / "reviews.csv"
COLUMNS = ("text", "label", "domain")


@dataclass(frozen=True)
class Aspect:
    phrase: str  # "the food"
    be: str  # "was", "were", "is" or "are"
    good: tuple[str, ...]  # predicates after the verb
    bad: tuple[str, ...]


@dataclass(frozen=True)
class Domain:
    name: str
    aspects: tuple[Aspect, ...]
    openers: tuple[str, ...]  # neutral context; may hold {name} {place} {k} {price} ...
    roles: tuple[str, ...]  # staff a reviewer may name: "our waiter"
    numbers_good: tuple[str, ...]
    numbers_bad: tuple[str, ...]
    verdicts_good: tuple[str, ...]
    verdicts_bad: tuple[str, ...]
    templates_good: tuple[str, ...]  # whole reviews particular to the domain
    templates_bad: tuple[str, ...]


def A(phrase: str, be: str, good: Sequence[str], bad: Sequence[str]) -> Aspect:
    return Aspect(phrase, be, tuple(good), tuple(bad))


# -- shared vocabulary ---------------------------------------------------------------------

NAMES = (
    "Carlos", "Priya", "Aisha", "Kenji", "Olivia", "Tomasz", "Ngozi", "Mateo", "Sophie",
    "Omar", "Ingrid", "Wei", "Rahul", "Chloe", "Kwame", "Lucia", "Henry", "Yuki", "Fatima",
    "Sven", "Meera", "Diego", "Harriet", "Hiroshi",
)
PLACES = (
    "Lisbon", "Kyoto", "Berlin", "Nairobi", "São Paulo", "Edinburgh", "Montreal", "Hanoi",
    "Melbourne", "Barcelona", "Oslo", "Cape Town", "Istanbul", "Mexico City", "Dublin",
    "Bangkok", "Reykjavik", "Marrakech", "Seoul", "Vienna",
)

GOOD_WORDS = (
    "great", "excellent", "fantastic", "lovely", "superb", "really good", "outstanding",
    "wonderful", "brilliant", "solid", "amazing", "top notch",
)
BAD_WORDS = (
    "terrible", "awful", "disappointing", "poor", "mediocre", "horrible", "dreadful",
    "subpar", "a mess", "pretty bad", "shocking", "a joke",
)

PEOPLE_GOOD = (
    "charming", "super helpful", "an absolute star", "patient with all our questions",
    "genuinely kind", "friendly and professional", "brilliant", "so thoughtful",
)
PEOPLE_BAD = (
    "rude", "barely around", "condescending", "short with us", "nowhere to be seen",
    "clearly having a bad day", "dismissive", "completely clueless",
)
PERSON_GOOD = (
    "{role}, {name}, was {padj}",
    "{role}, {name}, went above and beyond",
    "shout out to {name}, {role}, who was {padj}",
    "{name} ({role}) sorted everything out for us",
    "{role}, {name}, couldn't have been nicer",
)
PERSON_BAD = (
    "{role}, {name}, was {nadj}",
    "{role}, {name}, couldn't have cared less",
    "{name}, {role}, was {nadj} and never apologised",
    "{name} ({role}) just shrugged when we complained",
    "{role}, {name}, was {nadj} from start to finish",
)

# "{a}" is an aspect, "{b}" its verb and "{bn}" the verb negated.
NEGATED_GOOD = (  # negation that means something good
    "{a} {bn} bad at all", "{a} {bn} bad, honestly", "I couldn't fault {a}",
    "no complaints about {a}", "nothing wrong with {a} whatsoever",
    "I can't say a bad word about {a}", "{a} {bn} the problem other reviews claimed",
    "I've got no issues with {a}", "{a} never disappointed", "{a} {bn} anything to worry about",
)
NEGATED_BAD = (  # negation that means something bad
    "{a} {bn} great", "{a} {bn} good enough", "I wasn't impressed with {a}",
    "{a} didn't live up to the hype", "{a} {bn} anything special", "I wasn't happy with {a}",
    "{a} {bn} nearly as good as the photos suggested", "I can't say {a} {b} any good",
    "{a} {bn} what we were promised", "{a} {bn} up to much",
)

FEELINGS_GOOD = (
    "loved it", "really happy overall", "what a lovely experience", "pleasantly surprised",
    "it exceeded my expectations", "couldn't be happier", "genuinely impressed",
    "I'm so glad we chose this", "I'm delighted", "it made my week", "really pleased",
)
FEELINGS_BAD = (
    "what a letdown", "really disappointing overall", "not happy at all",
    "a total waste of money", "such a shame", "I regret it", "very frustrating",
    "I'm not impressed", "I expected a lot better", "I'm fuming", "it ruined my week",
)
VERDICTS_GOOD = (
    "highly recommend", "would definitely recommend", "five stars from me",
    "worth every penny", "ten out of ten", "can't recommend it enough", "no regrets at all",
    "recommended", "an easy recommendation", "would do it again in a heartbeat",
)
VERDICTS_BAD = (
    "avoid", "never again", "save your money", "would not recommend", "I want my money back",
    "one star", "don't bother", "can't recommend it", "not worth it", "a complete waste",
)
STARS_GOOD = ("5 stars", "4 stars", "5/5", "4 out of 5", "solid 4 stars")
STARS_BAD = ("1 star", "2 stars", "1/5", "2 out of 5", "generous 2 stars")

# Templates shared by every domain. Slots: {open} neutral opener, {p}/{n} a good/bad
# aspect clause, {np}/{nn} a negated clause meaning good/bad, {vp}/{vn} a verdict,
# {gp}/{gn} a feeling, {person_p}/{person_n} a named member of staff, {num_p}/{num_n} a
# clause with a number, {stars_p}/{stars_n} a rating, {end} final punctuation.
SHARED_GOOD = (
    # plain
    "{p}, and {p}{end}",
    "{open}. {p} and {p}{end}",
    "{p}, {p} and {p}. {vp}{end}",
    "{gp}! {p}. {vp}{end}",
    "{person_p}. {p}{end}",
    "{num_p}. {vp}{end}",
    "{open}. {person_p}, and {p}{end}",
    "{stars_p}. {p}, and {p}{end}",
    "{open}, and {gp}. {p}{end}",
    "{p}. what more could you want?",
    # contrastive: the clause after "but" decides
    "{n}, but {p}{end}",
    "{n}, but honestly {p} and {p}. {vp}{end}",
    "although {n}, {p}. {vp}{end}",
    "{p}. the only downside was that {n}. {vp}{end}",
    "{open}. {n}, but {p}, so {gp}{end}",
    "{stars_p}. {n}, but {p}{end}",
    "{n}, but {person_p}. {gp}{end}",
    # negated
    "{np}. {p}{end}",
    "{np}, and {np}{end}",
    "{open}. {np}{end}",
    "{gp}. {np}. {vp}{end}",
    "I was nervous after reading the reviews, but {np}{end}",
    "{open}. {np}, and {p}{end}",
)
SHARED_BAD = (
    # plain
    "{n}, and {n}{end}",
    "{open}. {n} and {n}{end}",
    "{n}, {n} and {n}. {vn}{end}",
    "{gn}. {n}. {vn}{end}",
    "{person_n}. {n}{end}",
    "{num_n}. {vn}{end}",
    "{open}. {person_n}, and {n}{end}",
    "{stars_n}. {n}, and {n}{end}",
    "{open}, and {gn}. {n}{end}",
    "{n}. is that really too much to ask?",
    # contrastive
    "{p}, but {n}{end}",
    "{p}, but honestly {n} and {n}. {vn}{end}",
    "although {p}, {n}. {vn}{end}",
    "{n}. the only good thing was that {p}. {vn}{end}",
    "{open}. {p}, but {n}, so {gn}{end}",
    "{stars_n}. {p}, but {n}{end}",
    "{p}, but {person_n}. {gn}{end}",
    # negated
    "{nn}. {n}{end}",
    "{nn}, and {nn}{end}",
    "{open}. {nn}{end}",
    "{gn}. {nn}. {vn}{end}",
    "I had high hopes after reading the reviews, but {nn}{end}",
    "{open}. {nn}, and {n}{end}",
)

# -- the domains ---------------------------------------------------------------------------

RESTAURANTS = Domain(
    name="restaurants",
    aspects=(
        A("the food", "was", ["delicious", "fresh and full of flavour", "perfectly seasoned",
                              "hot and tasty"],
          ["bland", "cold by the time it arrived", "greasy", "overcooked",
           "swimming in oil"]),
        A("the pasta", "was", ["cooked just right", "rich and creamy"],
          ["soggy", "clumpy and underseasoned"]),
        A("the service", "was", ["quick and friendly", "attentive without being pushy",
                                 "warm"],
          ["painfully slow", "rude", "chaotic", "careless"]),
        A("the staff", "were", ["welcoming", "lovely", "on top of everything"],
          ["dismissive", "clueless", "more interested in their phones"]),
        A("the portions", "were", ["generous", "more than enough"],
          ["tiny", "laughably small"]),
        A("the prices", "were", ["fair", "reasonable for the area"],
          ["steep", "way too high"]),
        A("the crème brûlée", "was", ["to die for", "the highlight of the night"],
          ["stale", "runny"]),
        A("the atmosphere", "was", ["cozy", "relaxed"], ["noisy", "cramped and stuffy"]),
        A("the coffee", "was", ["strong and smooth"], ["burnt", "watery"]),
        A("the wine list", "was", ["well chosen"], ["overpriced", "tiny"]),
    ),
    openers=(
        "we came here for {name}'s birthday", "had dinner here on a Friday night",
        "stopped by for lunch with two colleagues",
        "went for brunch after a walk around {place}", "booked a table for {k} on a Saturday",
        "tried this place on a friend's recommendation", "first visit since they reopened",
        "ordered the tasting menu for ${price} each", "popped in for a quick bite",
    ),
    roles=("our waiter", "the host", "our server", "the bartender", "the manager"),
    numbers_good=(
        "the food came out in {small} minutes", "two courses and a drink for ${price} is a steal",
        "we got a table within {small} minutes on a busy night",
        "I've eaten here {k} times and it's always consistent",
    ),
    numbers_bad=(
        "we waited {big} minutes for our mains", "${price} for a plate of pasta is a joke",
        "the bill came to ${bigprice} for two and we left hungry",
        "we asked for the bill {k} times before anyone came",
    ),
    verdicts_good=("we'll be back soon", "already planning our next visit",
                   "best meal I've had in months", "book a table, you won't regret it"),
    verdicts_bad=("we won't be returning", "eat somewhere else",
                  "worst meal I've had in ages", "not going back"),
    templates_good=(
        "where else can you get a meal like this for ${price}?",
        "the kitchen stayed open late just for us, and {p}{end}",
        "proper home cooking. {p} and {vp}{end}",
        "we shared {k} small plates and every single one was {pw}{end}",
        "{open}. no fuss, just {pw} food and {p}{end}",
        "honestly the best pizza I've had outside Naples{end}",
    ),
    templates_bad=(
        "how is it acceptable to wait {big} minutes for a burger?",
        "found a hair in my soup and {n}{end}",
        "the menu looked {pw}, but {n} and {n}{end}",
        "they got our order wrong twice and {n}{end}",
        "{open}. the table was sticky and {n}{end}",
        "overpriced, overhyped and {n}{end}",
    ),
)

HOTELS = Domain(
    name="hotels",
    aspects=(
        A("the room", "was", ["spotless", "spacious and bright", "quiet and comfortable"],
          ["filthy", "tiny and dark", "smelly", "freezing at night"]),
        A("the bed", "was", ["incredibly comfortable", "huge and comfy"],
          ["lumpy", "saggy and creaky"]),
        A("the breakfast", "was", ["a proper feast", "fresh and varied"],
          ["stale", "sad and overpriced"]),
        A("the staff", "were", ["welcoming", "incredibly helpful"],
          ["unhelpful", "rude at check-in"]),
        A("the location", "was", ["perfect for exploring", "central but quiet"],
          ["miles from anything", "next to a building site"]),
        A("the bathroom", "was", ["sparkling clean", "modern"], ["mouldy", "grimy"]),
        A("the pool", "was", ["heated and clean"], ["closed all week", "green and murky"]),
        A("the wifi", "was", ["fast and reliable"], ["useless", "down half the time"]),
        A("the view", "was", ["stunning", "breathtaking"], ["of a brick wall", "of the car park"]),
        A("the check-in", "was", ["smooth", "quick"], ["a shambles", "painfully slow"]),
    ),
    openers=(
        "stayed {k} nights in {place} for a conference",
        "we booked this hotel for our trip to {place}",
        "spent a long weekend here with my partner",
        "came for {name}'s wedding and stayed {k} nights",
        "booked the deluxe room at ${bigprice} a night", "checked in late after a long drive",
        "picked this place for a family holiday in {place}",
    ),
    roles=("the receptionist", "the concierge", "the night manager", "our housekeeper",
           "the porter"),
    numbers_good=(
        "check-in took {small} minutes", "${price} a night for this is a bargain",
        "we got a free upgrade to a suite for {k} nights",
    ),
    numbers_bad=(
        "we waited {big} minutes to check in", "they charged us ${price} extra for parking",
        "${bigprice} a night and the shower didn't work", "the lift was broken for {k} days",
    ),
    verdicts_good=("would happily stay here again", "already booked our next stay",
                   "best hotel we've stayed in", "book it, you won't regret it"),
    verdicts_bad=("never staying here again", "book anywhere else",
                  "worst hotel I've stayed in", "not worth the price"),
    templates_good=(
        "they remembered my name on day two and left a card for {name}'s birthday{end}",
        "honestly the best night's sleep I've had in years{end}",
        "why can't every hotel be this good?",
        "{open}. the room was ready early and {p}{end}",
        "housekeeping came every day and {p}{end}",
        "{open}. quiet, clean and {pw}{end}",
    ),
    templates_bad=(
        "{open}. the room wasn't ready until midnight and {n}{end}",
        "who charges ${price} for a bottle of water in the minibar?",
        "we found hair in the sheets and {n}{end}",
        "the air conditioning rattled all night, so nobody slept{end}",
        "paid for a sea view and got the car park{end}",
        "{open}. the walls were paper thin and {n}{end}",
    ),
)

ELECTRONICS = Domain(
    name="electronics",
    aspects=(
        A("the battery life", "is", ["excellent", "better than advertised", "easily two days"],
          ["dreadful", "gone by lunchtime"]),
        A("the screen", "is", ["sharp and bright", "gorgeous"],
          ["dim", "washed out", "scratched out of the box"]),
        A("the sound", "is", ["rich and clear", "punchy"], ["tinny", "muffled", "crackly"]),
        A("the build quality", "is", ["solid", "premium"], ["flimsy", "cheap and plasticky"]),
        A("the setup", "was", ["painless", "done in minutes"], ["a nightmare", "confusing"]),
        A("the charger", "is", ["fast"], ["slow", "dead within a week"]),
        A("the camera", "is", ["stunning in low light", "sharp"], ["grainy", "blurry indoors"]),
        A("the keyboard", "is", ["lovely to type on"], ["mushy", "missing a key"]),
        A("the speakers", "are", ["loud and clear"], ["distorted at high volume"]),
        A("the buttons", "are", ["clicky and responsive"], ["stiff", "loose"]),
    ),
    openers=(
        "bought this laptop for uni", "got these headphones for my commute",
        "ordered the {k}-pack of chargers", "picked up this phone on sale for ${price}",
        "bought this as a gift for {name}", "upgraded from a five-year-old tablet",
        "been using this for {k} weeks now", "replaced my old speaker with this one",
    ),
    roles=("the support agent", "the store clerk", "the technician"),
    numbers_good=(
        "the battery easily lasts {hours} hours", "for ${price} it's a steal",
        "it charges to full in {small} minutes",
    ),
    numbers_bad=(
        "the battery dies after {k} hours", "it stopped working after {k} days",
        "${bigprice} for this is daylight robbery",
        "I've been on hold {big} minutes trying to get a refund",
    ),
    verdicts_good=("best purchase I've made this year", "worth every cent", "I'd buy it again",
                   "I'm buying a second one"),
    verdicts_bad=("returning it tomorrow", "buy something else", "what a waste of ${price}",
                  "it's going back"),
    templates_good=(
        "pairs instantly with my phone and {p}{end}",
        "does exactly what it says, and {p}{end}",
        "I didn't expect much for the price, but {p}{end}",
        "is it perfect? no, but {p} and {p}{end}",
        "{open}. {p}, and it still looks new after {k} months{end}",
        "my kids use it every day and it's still going strong{end}",
    ),
    templates_bad=(
        "it overheats every time I play a video and {n}{end}",
        "the firmware update bricked it, and {n}{end}",
        "looks {pw} in the photos, but {n}{end}",
        "arrived with a cracked case and {n}{end}",
        "why does a ${bigprice} phone need a dongle for headphones?",
        "{open}. it disconnects every few minutes and {n}{end}",
    ),
)

DELIVERY = Domain(
    name="delivery",
    aspects=(
        A("the delivery", "was", ["fast", "a day early", "right on time"],
          ["late", "a week late", "lost twice"]),
        A("the packaging", "was", ["neat and secure", "plastic-free"],
          ["crushed", "soaked through"]),
        A("the courier", "was", ["friendly", "careful with the parcel"], ["rude", "careless"]),
        A("the tracking", "was", ["accurate", "spot on"], ["useless", "wrong the whole time"]),
        A("the refund", "was", ["processed the same day", "quick and painless"],
          ["still missing", "a battle"]),
        A("customer service", "was", ["helpful", "quick to reply"],
          ["useless", "impossible to reach"]),
        A("the groceries", "were", ["fresh", "well packed"], ["bruised", "past their date"]),
        A("the checkout", "was", ["quick", "simple"], ["buggy", "confusing"]),
        A("the order", "was", ["complete", "exactly right"], ["missing items", "wrong"]),
        A("the returns process", "was", ["easy", "hassle-free"], ["a nightmare", "a maze"]),
    ),
    openers=(
        "ordered a birthday present for {name}", "did our weekly grocery shop through them",
        "ordered {k} items during the sale", "had a sofa delivered to our flat in {place}",
        "ordered on Monday with next-day shipping", "used them for the first time last week",
        "paid ${price} for express delivery",
    ),
    roles=("the driver", "the courier", "the support agent", "the agent on the chat"),
    numbers_good=(
        "the parcel arrived within {k} days", "delivery was free on orders over ${price}",
        "my refund came through in {k} days",
    ),
    numbers_bad=(
        "the parcel took {big} days to arrive",
        "I paid ${price} for next-day delivery and it took a week",
        "I've chased them {k} times about a missing parcel",
        "I waited {big} minutes on the phone",
    ),
    verdicts_good=("I'll order from them again", "my go-to shop from now on",
                   "would order again without hesitation", "fast, cheap and reliable"),
    verdicts_bad=("I'm cancelling my account", "order from anywhere else",
                  "never ordering from them again", "stay away"),
    templates_good=(
        "the driver, {name}, even carried it up {k} flights of stairs{end}",
        "a text told me exactly when to expect it, and {p}{end}",
        "left safely with my neighbour, as I asked, and {p}{end}",
        "{open}. it all arrived in one piece and {p}{end}",
        "wrong item at first, but they sent the right one the next day{end}",
        "{open}. {p} and nothing was broken{end}",
    ),
    templates_bad=(
        "the parcel was left in the rain and {n}{end}",
        'the app said "delivered", but nothing ever arrived{end}',
        "they sent the wrong size and {n}{end}",
        "where is my parcel? {k} emails and no answer{end}",
        "{open}. half the order was missing and {n}{end}",
        "{open}. the box was open when it arrived{end}",
    ),
)

APPS = Domain(
    name="apps",
    aspects=(
        A("the app", "is", ["fast and intuitive", "a joy to use"],
          ["slow", "buggy", "a battery hog"]),
        A("the interface", "is", ["clean", "easy to navigate"], ["cluttered", "confusing"]),
        A("the latest update", "is", ["a huge improvement", "smooth"],
          ["a disaster", "full of bugs"]),
        A("the sync", "is", ["instant", "reliable"], ["broken", "flaky"]),
        A("the notifications", "are", ["useful", "easy to control"], ["constant", "spammy"]),
        A("the subscription", "is", ["good value", "fairly priced"],
          ["overpriced", "impossible to cancel"]),
        A("support", "was", ["responsive", "quick to fix it"], ["nonexistent", "useless"]),
        A("the ads", "are", ["rare and unobtrusive"], ["everywhere", "intrusive"]),
        A("the dark mode", "is", ["gorgeous", "easy on the eyes"], ["half finished", "ugly"]),
        A("the login", "is", ["seamless"], ["broken since the update", "a pain"]),
    ),
    openers=(
        "been using this app for {k} months", "downloaded this to track my budget",
        "switched from a competitor last week", "our team of {k} uses this every day",
        "installed it on my phone and laptop", "paid ${price} for the yearly plan",
        "{name} recommended this for note-taking",
    ),
    roles=("the developer", "the support agent", "the community manager"),
    numbers_good=(
        "it opens in under {k} seconds", "${price} a year is fair for this",
        "support fixed my issue in {small} minutes",
    ),
    numbers_bad=(
        "it crashed {k} times in one afternoon", "${price} a month for this is a joke",
        "it takes {k} seconds just to open", "I lost {k} hours of work when it crashed",
    ),
    verdicts_good=("worth installing", "five stars, keep it up",
                   "it's earned a place on my home screen", "the best app in its category"),
    verdicts_bad=("uninstalled", "deleting it", "find another app", "one star until they fix it"),
    templates_good=(
        "finally an app that doesn't nag me to upgrade{end}",
        "works offline, which I didn't expect, and {p}{end}",
        "the devs actually listen to feedback, and {p}{end}",
        "switched from paper notes and I'm not looking back{end}",
        "{open}. it just works, and {p}{end}",
        "{open}. it has replaced {k} other apps for me{end}",
    ),
    templates_bad=(
        "it logs me out every single day and {n}{end}",
        "why does a notes app need my location?",
        "since the update {n} and {n}{end}",
        "it drains my battery and {n}{end}",
        "crashes on launch, every single time{end}",
        "{open}. it forgot all my settings and {n}{end}",
    ),
)

AIRLINES = Domain(
    name="airlines",
    aspects=(
        A("the flight", "was", ["smooth", "on time"], ["delayed", "a nightmare"]),
        A("the crew", "were", ["lovely", "attentive"], ["rude", "grumpy"]),
        A("the seats", "were", ["roomy", "comfortable"], ["cramped", "filthy"]),
        A("the boarding", "was", ["organised", "quick"], ["chaotic", "a free-for-all"]),
        A("the food on board", "was", ["surprisingly good", "hot and tasty"],
          ["inedible", "cold"]),
        A("the legroom", "was", ["generous"], ["nonexistent"]),
        A("the baggage drop", "was", ["quick"], ["a shambles"]),
        A("the entertainment", "was", ["great for the kids"], ["broken", "out of date"]),
        A("the rebooking", "was", ["painless"], ["a joke"]),
        A("the lounge", "was", ["calm and clean"], ["packed", "grubby"]),
    ),
    openers=(
        "flew to {place} for a family wedding", "took the red-eye from {place}",
        "booked our trip to {place} through them", "flew economy with two kids",
        "connected through {place} on the way home", "paid ${price} extra for a window seat",
        "travelled with {name} for our honeymoon",
    ),
    roles=("the flight attendant", "the gate agent", "the pilot", "the check-in agent"),
    numbers_good=(
        "we landed {small} minutes early", "a return ticket for ${price} is hard to beat",
        "bags were on the belt within {small} minutes",
    ),
    numbers_bad=(
        "the flight was delayed {k} hours", "we sat on the tarmac for {big} minutes",
        "they charged ${price} for a carry-on", "my suitcase turned up {k} days later",
    ),
    verdicts_good=("will fly with them again", "my new favourite airline",
                   "I'd book them again tomorrow", "smooth from start to finish"),
    verdicts_bad=("never flying with them again", "pay more and fly with someone else",
                  "worst airline I've used", "avoid this airline"),
    templates_good=(
        "the pilot kept us updated through the turbulence, and {p}{end}",
        "our trip to {place} started perfectly: {p} and {p}{end}",
        "they found us seats together with a toddler, no questions asked{end}",
        "{open}. on time both ways and {p}{end}",
        "cheap ticket, but {p} and {p}{end}",
        "{open}. {person_p}{end}",
    ),
    templates_bad=(
        "they lost my bag and {n}{end}",
        "cancelled the night before with no explanation{end}",
        "our trip to {place} started badly: {n} and {n}{end}",
        "why sell {k} seats that don't exist?",
        "{open}. {person_n}{end}",
        "{open}. missed my connection and {n}{end}",
    ),
)

CLOTHING = Domain(
    name="clothing",
    aspects=(
        A("the fabric", "was", ["soft", "thick and warm"], ["thin", "scratchy", "see-through"]),
        A("the fit", "was", ["perfect", "true to size"], ["way off", "tight across the shoulders"]),
        A("the stitching", "was", ["neat"], ["coming apart", "crooked"]),
        A("the colour", "was", ["exactly as pictured", "rich"],
          ["nothing like the photo", "faded after one wash"]),
        A("the jeans", "were", ["comfy", "flattering"], ["stiff", "too short in the leg"]),
        A("the jacket", "was", ["warm", "well made"], ["boxy", "useless in the rain"]),
        A("the shoes", "were", ["comfy from day one"], ["painful", "falling apart"]),
        A("the sizing", "was", ["consistent"], ["all over the place"]),
        A("the zip", "was", ["sturdy"], ["broken"]),
        A("the dress", "was", ["gorgeous", "elegant"], ["shapeless", "cheap-looking"]),
    ),
    openers=(
        "bought this dress for {name}'s wedding", "ordered a medium based on the size chart",
        "got these boots for a hiking trip to {place}",
        "picked up this jacket for ${price} in the sale", "bought {k} shirts for work",
        "I'm usually a size 10", "ordered the same jumper in two colours",
    ),
    roles=("the sales assistant", "the stylist", "the tailor", "the store manager"),
    numbers_good=(
        "it still looks new after {k} washes", "${price} for this quality is great",
        "I've worn them {k} days straight",
    ),
    numbers_bad=(
        "it shrank after {k} washes", "the sole came off after {k} weeks",
        "${price} for a shirt that pills is too much", "I've returned {k} sizes and none fit",
    ),
    verdicts_good=("ordering it in another colour", "my new favourite jacket",
                   "will buy from them again", "I've had so many compliments"),
    verdicts_bad=("sending it back", "total waste of money", "don't buy",
                  "back in the bag it goes"),
    templates_good=(
        "wore it to {name}'s wedding and got compliments all night{end}",
        "fits like it was made for me, and {p}{end}",
        "{open}. {p}, and it washes well{end}",
        "not my usual style, but {p}{end}",
        "{open}. true to size and {p}{end}",
        "survived a week of rain in {place}, and {p}{end}",
    ),
    templates_bad=(
        "the seams split the first time I wore it and {n}{end}",
        "looked {pw} online, but {n}{end}",
        "who designs a jacket without pockets?",
        "{open}. the hem was already fraying and {n}{end}",
        "bobbled after {k} washes and {n}{end}",
        "{open}. returned it straight away{end}",
    ),
)

DOMAINS = (RESTAURANTS, HOTELS, ELECTRONICS, DELIVERY, APPS, AIRLINES, CLOTHING)

# -- assembly ------------------------------------------------------------------------------

_NEGATE = {"was": "wasn't", "were": "weren't", "is": "isn't", "are": "aren't"}
_SLOT = re.compile(r"\{([a-z_]+)\}")
_SENTENCE_START = re.compile(r"(^|[.!?]\s+)([a-z])")


class _Review:
    """The choices made for one review: its domain, the rng and the aspects used so far."""

    def __init__(self, domain: Domain, rng: np.random.Generator) -> None:
        self.domain = domain
        self.rng = rng
        self.used: set[str] = set()

    def pick(self, options: Sequence[str]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def aspect(self) -> Aspect:
        free = [a for a in self.domain.aspects if a.phrase not in self.used]
        chosen = free[int(self.rng.integers(len(free)))]
        self.used.add(chosen.phrase)
        return chosen

    def clause(self, good: bool) -> str:
        a = self.aspect()
        specific = a.good if good else a.bad
        generic = GOOD_WORDS if good else BAD_WORDS
        predicate = self.pick(specific) if self.chance(0.7) else self.pick(generic)
        return f"{a.phrase} {a.be} {predicate}"

    def negated(self, good: bool) -> str:
        a = self.aspect()
        bn = _NEGATE[a.be] if self.chance(0.75) else f"{a.be} not"
        form = self.pick(NEGATED_GOOD if good else NEGATED_BAD)
        return form.format(a=a.phrase, b=a.be, bn=bn)

    def person(self, good: bool) -> str:
        form = self.pick(PERSON_GOOD if good else PERSON_BAD)
        return form.format(role=self.pick(self.domain.roles), name="{name}",
                           padj=self.pick(PEOPLE_GOOD), nadj=self.pick(PEOPLE_BAD))

    def verdict(self, good: bool) -> str:
        if self.chance(0.5):
            return self.pick(self.domain.verdicts_good if good else self.domain.verdicts_bad)
        return self.pick(VERDICTS_GOOD if good else VERDICTS_BAD)

    def slot(self, name: str) -> str:
        d = self.domain
        if name in ("p", "n"):
            return self.clause(name == "p")
        if name in ("np", "nn"):
            return self.negated(name == "np")
        if name in ("vp", "vn"):
            return self.verdict(name == "vp")
        if name in ("gp", "gn"):
            return self.pick(FEELINGS_GOOD if name == "gp" else FEELINGS_BAD)
        if name in ("person_p", "person_n"):
            return self.person(name == "person_p")
        if name in ("num_p", "num_n"):
            return self.pick(d.numbers_good if name == "num_p" else d.numbers_bad)
        if name in ("stars_p", "stars_n"):
            return self.pick(STARS_GOOD if name == "stars_p" else STARS_BAD)
        if name == "pw":
            return self.pick(GOOD_WORDS)
        if name == "open":
            return self.pick(d.openers)
        if name == "end":
            return self.pick((".", ".", ".", ".", "!", "!", "...", "!!"))
        if name == "name":
            return self.pick(NAMES)
        if name == "place":
            return self.pick(PLACES)
        if name == "k":
            return str(int(self.rng.integers(2, 10)))
        if name == "small":
            return str(int(self.rng.integers(3, 16)))
        if name == "big":
            return str(5 * int(self.rng.integers(7, 25)))
        if name == "hours":
            return str(int(self.rng.integers(10, 41)))
        if name == "price":
            return str(int(self.rng.integers(12, 96)))
        if name == "bigprice":
            return str(10 * int(self.rng.integers(15, 91)))
        raise KeyError(f"unknown slot {{{name}}}")


def _separators(template: str, review: _Review) -> str:
    """Vary how sentences are joined: mostly '. ', sometimes '! ', '... ' or ' - '."""
    parts = template.split(". ")
    out = parts[0]
    for part in parts[1:]:
        out += review.pick((". ", ". ", ". ", ". ", "! ", "... ", " - ")) + part
    return out


def _fill(template: str, review: _Review) -> str:
    text = _separators(template, review)
    while _SLOT.search(text):
        text = _SLOT.sub(lambda m: review.slot(m.group(1)), text, count=1)
    return text


def _finish(text: str, review: _Review) -> str:
    """Capitalise sentence starts, except in the casually written quarter of reviews."""
    if review.chance(0.75):
        text = _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), text)
    return text


def _one(domain: Domain, good: bool, rng: np.random.Generator) -> str:
    review = _Review(domain, rng)
    specific = domain.templates_good if good else domain.templates_bad
    shared = SHARED_GOOD if good else SHARED_BAD
    template = review.pick(specific) if review.chance(0.25) else review.pick(shared)
    return _finish(_fill(template, review), review)


def _key(text: str) -> str:
    """What two reviews must not share: the words, ignoring case and punctuation."""
    return " ".join(re.findall(r"\w+", text.lower()))


def generate_reviews(seed: int = SEED, per_domain: int = PER_DOMAIN) -> list[tuple[str, str, str]]:
    """Rows ``(text, label, domain)``: ``per_domain`` reviews a domain, half of them
    positive, in a seeded shuffled order. No two reviews have the same words, even
    ignoring case and punctuation, so no near-copy straddles a train/test split."""
    rng = np.random.default_rng(seed)
    seen: set[str] = set()
    rows: list[tuple[str, str, str]] = []
    for domain in DOMAINS:
        for i in range(per_domain):
            good = i % 2 == 0
            for _ in range(1000):
                text = _one(domain, good, rng)
                key = _key(text)
                if MIN_WORDS <= len(text.split()) <= MAX_WORDS and key not in seen:
                    break
            else:  # pragma: no cover - the phrase lists are far from exhausted
                raise RuntimeError(f"could not find a new {domain.name} review")
            seen.add(key)
            rows.append((text, "positive" if good else "negative", domain.name))
    order = rng.permutation(len(rows))
    return [rows[int(j)] for j in order]


def write_reviews(path: Path | str = OUTPUT, seed: int = SEED) -> int:
    """Write the CSV to ``path``; return the number of reviews written."""
    rows = generate_reviews(seed)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return len(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write the CSV")
    args = parser.parse_args(argv)
    count = write_reviews(args.output)
    print(f"wrote {count} reviews to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
