"""The word2vec corpus of bench/run word2vec and scripts/word2vec_vs_gpt.sh: what gensim's own wheel ships as test
data, so no network is needed — head500.noblanks.cor (the first 500 articles of an English Wikipedia dump, an article
a line), the Lee background corpus (news), and the text of the shortened dump enwiki-latest-pages-articles1
(tokenised by gensim's WikiCorpus, lower case): 0.84 million words. Wikipedia text is CC BY-SA; it is read here and
never shipped. Writes bench/.cache/word2vec-corpus.txt, a sentence (article) a line."""
import os

from gensim.corpora.wikicorpus import WikiCorpus
from gensim.test.utils import datapath

corpus = os.path.join(os.path.dirname(__file__), "..", ".cache", "word2vec-corpus.txt")
os.makedirs(os.path.dirname(corpus), exist_ok=True)
with open(corpus + ".partial", "w", encoding="utf-8") as out:
    for name in ["head500.noblanks.cor", "lee_background.cor"]:
        for line in open(datapath(name), encoding="utf-8"):
            if line.strip():
                out.write(" ".join(line.split()) + "\n")
    wiki = WikiCorpus(datapath("enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"), dictionary={}, processes=1)
    for tokens in wiki.get_texts():
        out.write(" ".join(tokens) + "\n")
os.rename(corpus + ".partial", corpus)
print("wrote", corpus)
