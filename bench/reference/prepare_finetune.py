"""Input of `bench/run finetune`: the book's chapter 6 training split of the SMS Spam Collection
(ham undersampled to the 747 spam messages with random_state 123, shuffled, the first 70 %: 1,045
messages), written to bench/.cache/sms-train.tsv so that both sides train on the same texts."""
import os
import random

here = os.path.dirname(os.path.abspath(__file__))
source = os.path.join(here, "..", "..", "..", "shared", "data", "SMSSpamCollection.tsv")
if not os.path.exists(source):
    source = os.environ.get("SMS_SPAM_TSV", source)
rows = [line.rstrip("\n").split("\t", 1) for line in open(source, encoding="utf-8") if line.strip()]
spam = [r for r in rows if r[0] == "spam"]
ham = random.Random(123).sample([r for r in rows if r[0] == "ham"], len(spam))
balanced = ham + spam
random.Random(123).shuffle(balanced)
train = balanced[: int(len(balanced) * 0.7)]
os.makedirs(os.path.join(here, "..", ".cache"), exist_ok=True)
with open(os.path.join(here, "..", ".cache", "sms-train.tsv"), "w", encoding="utf-8") as f:
    f.writelines(f"{label}\t{text}\n" for label, text in train)
print(f"wrote bench/.cache/sms-train.tsv: {len(train)} messages")
