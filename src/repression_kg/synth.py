"""A synthetic registry shaped like a Memory Book: invented persons as N-Triples, never historical data.

Every record cites a synthetic source whose title says so. Real places, stages and sentencing
bodies of data/ are referenced (they are real; the records are not). The concept schemes that
only the registry needs (nationalities, article 58 paragraphs, sentences) are written beside the
records and marked synthetic. Output of one seed is the same bytes on every run.
"""
from __future__ import annotations

import datetime
import functools
import json
import random
import re
from bisect import bisect
from itertools import accumulate
from pathlib import Path

from .namespaces import ID, KZR

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
CHUNK = 5000  # persons per write

RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
SKOS = "http://www.w3.org/2004/02/skos/core#"
XSD = "http://www.w3.org/2001/XMLSchema#"
DCT = "http://purl.org/dc/terms/"
DERIVED = "<http://www.w3.org/ns/prov#wasDerivedFrom>"


@functools.cache
def k(term: str) -> str:
    """An ontology term as an N-Triples IRI."""
    return f"<{KZR}{term}>"


def thing(kind: str, slug: str) -> str:
    """A thing of the graph as an N-Triples IRI."""
    return f"<{ID}{kind}/{slug}>"


def lit(text: str, lang: str) -> str:
    """A language-tagged literal (the generated texts hold no quote or backslash)."""
    return f'"{text}"@{lang}'


# --- What the registry refers to: real things of data/ -------------------------------------

REGIONS = (  # slug, Russian name as a register prints it, weight
    ("karaganda-region", "Карагандинская обл.", 20), ("almaty-region", "Алма-Атинская обл.", 18),
    ("south-kazakhstan-region", "Южно-Казахстанская обл.", 15), ("east-kazakhstan-region", "Восточно-Казахстанская обл.", 13),
    ("north-kazakhstan-region", "Северо-Казахстанская обл.", 10), ("aktobe-region", "Актюбинская обл.", 8),
    ("kostanay-region", "Кустанайская обл.", 8), ("west-kazakhstan-region", "Западно-Казахстанская обл.", 8),
)
BODIES = {  # slug: the body in the instrumental case, as in "Осуждён тройкой НКВД"
    "nkvd-troikas": "тройкой НКВД", "dvoika": "двойкой (Комиссией НКВД и Прокурора СССР)",
    "special-board": "Особым совещанием", "military-board": "Военной коллегией",
    "courts-and-military-tribunals": "судом", "supreme-court-kazssr": "Верховным судом Казахской ССР",
    "prosecutors-offices-kazakhstan": "органами прокуратуры",
}

# --- The synthetic concept schemes ---------------------------------------------------------

NATIONALITIES = (  # slug, en, ru (m), ru (f), kk, weight, deported people
    ("kazakh", "Kazakh", "казах", "казашка", "қазақ", 46, False),
    ("russian", "Russian", "русский", "русская", "орыс", 18, False),
    ("ukrainian", "Ukrainian", "украинец", "украинка", "украин", 9, False),
    ("german", "German", "немец", "немка", "неміс", 7, True),
    ("tatar", "Tatar", "татарин", "татарка", "татар", 4, False),
    ("korean", "Korean", "кореец", "кореянка", "кәріс", 3, True),
    ("chechen", "Chechen", "чеченец", "чеченка", "шешен", 2, True),
    ("polish", "Polish", "поляк", "полька", "поляк", 2, True),
    ("uzbek", "Uzbek", "узбек", "узбечка", "өзбек", 2, False),
    ("uyghur", "Uyghur", "уйгур", "уйгурка", "ұйғыр", 2, False),
    ("jewish", "Jewish", "еврей", "еврейка", "еврей", 2, False),
    ("ingush", "Ingush", "ингуш", "ингушка", "ингуш", 1, True),
)
ARTICLES = (  # paragraph, en, ru, kk
    ("1a", "treason", "измена Родине", "Отанға опасыздық"),
    ("2", "armed uprising", "вооружённое восстание", "қарулы көтеріліс"),
    ("6", "espionage", "шпионаж", "тыңшылық"),
    ("7", "wrecking", "вредительство", "зиянкестік"),
    ("8", "terrorist act", "террористический акт", "террорлық акт"),
    ("9", "sabotage", "диверсия", "диверсия"),
    ("10", "anti-Soviet agitation and propaganda", "антисоветская агитация и пропаганда", "кеңеске қарсы үгіт-насихат"),
    ("11", "counter-revolutionary organisation", "участие в контрреволюционной организации", "контрреволюциялық ұйымға қатысу"),
    ("12", "failure to denounce", "недонесение", "хабарламау"),
    ("14", "counter-revolutionary sabotage", "контрреволюционный саботаж", "контрреволюциялық саботаж"),
)
SENTENCES = (  # slug, en, ru, kk
    ("shooting", "death by shooting", "высшая мера наказания (расстрел)", "ату жазасы"),
    ("camp", "term in a corrective labour camp", "заключение в исправительно-трудовой лагерь", "түзеу-еңбек лагеріне қамау"),
    ("exile", "exile", "ссылка", "жер аудару"),
)

# --- Periods of arrest: years, stage, sentencing bodies, sentences, charges ----------------
# Each: (name, weight, first year, last year, stage, bodies, sentences with terms, charges).

PERIODS = (
    ("collectivisation", 15, 1928, 1933, "repression-3",
     {"special-board": 5, "courts-and-military-tribunals": 5},
     {("camp", 3): 2, ("camp", 5): 2, ("camp", 10): 2, ("exile", 3): 2, ("exile", 5): 1, ("shooting", 0): 1},
     {"10": 3, "2": 2, "7": 2, "8": 1, "11": 1, "14": 2}),
    ("industrialisation", 8, 1934, 1936, "repression-4",
     {"special-board": 5, "courts-and-military-tribunals": 4, "military-board": 1},
     {("camp", 3): 2, ("camp", 5): 3, ("camp", 8): 1, ("camp", 10): 2, ("exile", 5): 2, ("shooting", 0): 1},
     {"10": 4, "7": 3, "11": 2, "9": 2}),
    ("great-terror", 50, 1937, 1938, "repression-5",
     {"nkvd-troikas": 72, "dvoika": 8, "special-board": 8, "military-board": 5, "courts-and-military-tribunals": 7},
     {("shooting", 0): 42, ("camp", 8): 20, ("camp", 10): 38},
     {"10": 30, "11": 20, "6": 12, "7": 10, "8": 10, "9": 6, "1a": 7, "2": 5}),
    ("pre-war", 5, 1939, 1939, "repression-4",
     {"special-board": 5, "courts-and-military-tribunals": 4, "military-board": 1},
     {("camp", 5): 3, ("camp", 8): 3, ("camp", 10): 3, ("shooting", 0): 1},
     {"10": 4, "7": 2, "11": 2, "12": 1}),
    ("deportation", 6, 1940, 1949, "repression-6",
     {"special-board": 5, "courts-and-military-tribunals": 4, "military-board": 1},
     {("camp", 5): 2, ("camp", 10): 4, ("exile", 5): 2, ("shooting", 0): 1},
     {"10": 4, "1a": 3, "6": 2, "12": 1}),
    ("post-war", 12, 1945, 1953, "repression-7",
     {"special-board": 45, "courts-and-military-tribunals": 45, "military-board": 10},
     {("camp", 10): 5, ("camp", 15): 2, ("camp", 25): 2, ("exile", 5): 1, ("shooting", 0): 1},
     {"10": 5, "1a": 3, "11": 2, "12": 1}),
    ("thaw", 2, 1955, 1959, "repression-8",
     {"courts-and-military-tribunals": 1},
     {("camp", 3): 3, ("camp", 5): 4, ("camp", 7): 2, ("exile", 5): 1},
     {"10": 1}),
)
# Plausibility rules for invented records only (not sourced facts; nothing of them enters the graph).
NATIONAL_OPERATIONS = {"german", "polish", "korean"}  # the peoples the dvoika sentenced
TROIKA_YEARS = (datetime.date(1937, 8, 5), datetime.date(1938, 11, 17))
NO_DEATH_PENALTY = (datetime.date(1947, 5, 26), datetime.date(1950, 1, 12))
REHABILITATED = 0.85
REHABILITATIONS = (  # first year, last year, weight
    (1954, 1962, 35), (1989, 1992, 45), (1993, 1999, 12), (2000, 2014, 8),
)

# --- Names ----------------------------------------------------------------------------------
# Kazakh names are kept in Kazakh Cyrillic; their Russian form maps the Kazakh letters, and the
# Latin form transliterates the Russian one, so the three scripts always agree.

KAZAKH_SURNAMES = """Ахметов Жұмабаев Сейітов Құнанбаев Байтұрсынов Дулатов Сәдуақасов Есенов Бекмұхамедов
Омаров Оразов Қасымов Нұрмақов Тоқтаров Әлімжанов Мұқанов Сүлейменов Ибраев Исаев Жақыпов Қалиев
Ғабдуллин Әбілов Тәжібаев Сәрсенбаев Бейсенов Қожахметов Жандосов Мырзахметов Әбдірахманов Құдайбергенов
Ермеков Әуезов Тұрлыбаев Досжанов Нұрпейісов Қайырбеков Шәкенов Бөкейханов Оспанов Төлебаев Жүнісов
Сұлтанбеков Әбенов Мамыров Бектұров Сейфуллин Кенжебаев Ысқақов Жылқыбаев""".split()
KAZAKH_MEN = """Ахмет Жүсіп Қасым Смағұл Тұрар Сәкен Ілияс Бейімбет Мағжан Міржақып Әлихан Нұрмақ Ораз
Сұлтанбек Темірбек Омар Асқар Жақып Ысқақ Әбдіғали Қалыбек Байжан Есім Ерғали Мұхамеджан Ғабдолла
Тоқтар Сейіт Бекет Жұмабай Қожахмет Халел Жаһанша Телжан Әбілқайыр Мұстафа Ғазиз Құдайберген Шәкен""".split()
KAZAKH_WOMEN = """Зейнеп Айша Мариям Гүлжан Хадиша Рәбиға Зылиха Күлпаш Сара Бибігүл Әлима Нағима Шәрипа
Ұлжан Қанипа Бәтима Зейнекүл Ақлима""".split()
KAZAKH_TO_RUSSIAN = str.maketrans("ӘәҒғҚқҢңӨөҰұҮүҺһІі", "АаГгКкНнОоУуУуХхИи")

# Non-Kazakh names in their Russian form (also their form in Kazakh Cyrillic).
OTHER_SURNAMES = {
    "russian": "Иванов Петров Кузнецов Смирнов Попов Соколов Лебедев Козлов Новиков Морозов Волков Васильев "
               "Зайцев Павлов Семёнов Голубев Виноградов Богданов Фёдоров Михайлов",
    "ukrainian": "Шевченко Коваленко Бондаренко Ткаченко Кравченко Олейник Мельник Бойко Ковальчук Савченко "
                 "Руденко Марченко",
    "german": "Шмидт Мюллер Шнейдер Фишер Вебер Майер Вагнер Беккер Шульц Гофман Келлер Рихтер Классен Энс",
    "tatar": "Хайруллин Гарипов Валиев Сафин Галиев Шарипов Ахметзянов Мансуров",
    "korean": "Ким Пак Ли Цой Хан Тен Кан Нам Югай Шин",
    "chechen": "Мусаев Алиев Хасанов Бисултанов Магомадов Умаров Эльмурзаев",
    "polish": "Ковальский Новак Вишневский Каминский Левандовский Зелинский",
    "uzbek": "Усманов Рахимов Юлдашев Мирзаев Хакимов Каримов",
    "uyghur": "Турсунов Масимов Исламов Садыков Розиев",
    "jewish": "Коган Рабинович Левин Фридман Шапиро Гуревич",
    "ingush": "Евлоев Мальсагов Костоев Оздоев Барахоев",
}
OTHER_MEN = {  # given name: patronymic stem (+ "ич"/"на")
    "slavic": "Иван:Иванов Пётр:Петров Николай:Николаев Алексей:Алексеев Михаил:Михайлов Василий:Васильев "
              "Фёдор:Фёдоров Григорий:Григорьев Сергей:Сергеев Андрей:Андреев Павел:Павлов Яков:Яковлев "
              "Степан:Степанов Егор:Егоров",
    "german": "Иоганн:Иоганнов Генрих:Генрихов Фридрих:Фридрихов Яков:Яковлев Давид:Давидов "
              "Вильгельм:Вильгельмов Густав:Густавов Эдуард:Эдуардов",
    "korean": "Николай:Николаев Михаил:Михайлов Пётр:Петров Афанасий:Афанасьев Василий:Васильев Тимофей:Тимофеев",
    "muslim": "Ахмед:Ахмедов Магомед:Магомедов Хасан:Хасанов Али:Алиев Муса:Мусаев Умар:Умаров Ибрагим:Ибрагимов "
              "Габдулла:Габдуллов Закир:Закиров Мансур:Мансуров Рахим:Рахимов Турсун:Турсунов",
    "polish": "Станислав:Станиславов Юзеф:Юзефов Казимир:Казимиров Ян:Янов Войцех:Войцехов",
    "jewish": "Моисей:Моисеев Абрам:Абрамов Исаак:Исааков Лазарь:Лазарев Давид:Давидов Соломон:Соломонов",
}
OTHER_WOMEN = {
    "slavic": "Мария Анна Евдокия Прасковья Татьяна Ольга Екатерина Александра",
    "german": "Анна Мария Елизавета Катарина Эмма Амалия",
    "korean": "Мария Анна Ольга Елена",
    "muslim": "Фатима Зайнаб Айша Марьям Хадижат",
    "polish": "Ядвига Ванда Зофья Мария",
    "jewish": "Сара Рахиль Двойра Эсфирь",
}
GIVEN_POOL = {"russian": "slavic", "ukrainian": "slavic", "german": "german", "korean": "korean", "tatar": "muslim",
              "chechen": "muslim", "ingush": "muslim", "uzbek": "muslim", "uyghur": "muslim", "polish": "polish",
              "jewish": "jewish"}
# Spellings a Soviet register used beside the modern Russian form (the printed variant).
VARIANTS = (("Жу", "Джу"), ("Жа", "Джа"), ("ей", "еи"), ("Габд", "Абд"), ("Ысқ", "Иск"), ("Ыск", "Иск"),
            ("Юсуп", "Юсуф"), ("ьев", "ев"), ("Хасан", "Гасан"), ("хмет", "хмед"), ("Мух", "Мох"))
TO_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "",
    "э": "e", "ю": "yu", "я": "ya",
}


@functools.lru_cache(maxsize=65536)
def latin(russian: str) -> str:
    """The Latin form of a Russian name, letter by letter (capitals kept)."""
    out = []
    for ch in russian:
        low = ch.lower()
        text = TO_LATIN.get(low, ch)
        out.append(text.capitalize() if ch != low else text)
    return "".join(out)


def feminine(surname: str) -> str:
    """A woman's form of a surname."""
    if surname.endswith(("ов", "ев", "ин", "ёв")):
        return surname + "а"
    if surname.endswith("ский"):
        return surname[:-2] + "ая"
    return surname


class Names:
    """Draws names in three scripts: (Kazakh, Russian, Latin, printed Russian or None)."""

    def __init__(self):
        self.other_men = {pool: [pair.split(":") for pair in text.split()] for pool, text in OTHER_MEN.items()}
        self.other_women = {pool: text.split() for pool, text in OTHER_WOMEN.items()}
        self.other_surnames = {nat: text.split() for nat, text in OTHER_SURNAMES.items()}

    def draw(self, rng: random.Random, nationality: str, woman: bool) -> tuple[str, str, str, str | None]:
        if nationality == "kazakh":
            surname = rng.choice(KAZAKH_SURNAMES)
            given = rng.choice(KAZAKH_WOMEN if woman else KAZAKH_MEN)
            kazakh = f"{feminine(surname) if woman else surname} {given}"
        else:
            pool = GIVEN_POOL[nationality]
            surname = rng.choice(self.other_surnames[nationality])
            given = rng.choice(self.other_women[pool]) if woman else rng.choice(self.other_men[pool])[0]
            father = rng.choice(self.other_men[pool])[1]
            patronymic = father + ("на" if woman else "ич")
            kazakh = f"{feminine(surname) if woman else surname} {given} {patronymic}"
        russian = kazakh.translate(KAZAKH_TO_RUSSIAN)
        printed = None
        if rng.random() < 0.25:
            found = [(a, b) for a, b in VARIANTS if a in russian]
            if found:
                old, new = rng.choice(found)
                printed = russian.replace(old, new, 1)
        return kazakh, russian, latin(russian), printed


class Weighted:
    """A weighted choice among keys, drawn with one random number."""

    def __init__(self, weights: dict):
        self.keys = list(weights)
        self.totals = list(accumulate(weights.values()))

    def draw(self, rng: random.Random):
        return self.keys[bisect(self.totals, rng.random() * self.totals[-1])]


class Registry:
    """Generates the lines of one synthetic registry."""

    def __init__(self, name: str, seed: int):
        self.name, self.seed = name, seed
        self.rng = random.Random(seed)
        self.names = Names()
        self.nationalities = Weighted({n[0]: n[5] for n in NATIONALITIES})
        self.nationality = {n[0]: n for n in NATIONALITIES}
        self.regions = Weighted({r[0]: r[2] for r in REGIONS})
        self.region_name = {r[0]: r[1] for r in REGIONS}
        self.fond = {r[0]: 8 + 3 * i for i, r in enumerate(REGIONS)}
        self.periods = Weighted({p[0]: p[1] for p in PERIODS})
        self.period = {p[0]: p for p in PERIODS}
        self.period_parts = {p[0]: (Weighted(p[5]), Weighted(p[6]), Weighted(p[7])) for p in PERIODS}
        self.rehabilitations = Weighted({r: r[2] for r in REHABILITATIONS})
        self.source = thing("source", f"{name}-registry")

    def person(self, n: int) -> str:
        """The N-Triples block of person number n (1-based), ending with a blank line."""
        rng = self.rng
        slug = f"{self.name}-{n:07d}"
        nationality = self.nationalities.draw(rng)
        woman = rng.random() < 0.08
        kazakh, russian, latin_name, printed = self.names.draw(rng, nationality, woman)
        period = self._period(rng, nationality)
        arrest = self._arrest_date(rng, period)
        bodies, sentences, charges = self.period_parts[period[0]]
        body = self._body(rng, bodies, arrest, nationality)
        sentence, term = self._sentence(rng, sentences, arrest)
        charge = [charges.draw(rng)]
        if charge[0] == "10" and rng.random() < 0.2:
            charge.append("11")
        born = arrest.year - int(rng.triangular(18, 70, 35))
        region = self.regions.draw(rng)
        reference = f"Ф. {self.fond[region]}. Оп. {rng.randint(1, 3)}. Д. {rng.randint(1, 60000)}"
        rehabilitation = self._rehabilitation(rng, arrest, body) if rng.random() < REHABILITATED else None

        person, record, repression = thing("person", slug), thing("record", slug), thing("repression", slug)
        citation = thing("citation", f"{self.name}-registry-{n:07d}")
        quote = self._quote(printed or russian, woman, born, nationality, region, arrest, body, charge,
                            sentence, term, rehabilitation, reference)
        lines = [
            f"{person} {RDF_TYPE} {k('Person')} .",
            f"{person} {LABEL} {lit(kazakh, 'kk')} .",
            f"{person} {LABEL} {lit(russian, 'ru')} .",
            f"{person} {LABEL} {lit(latin_name, 'en')} .",
            f"{person} {k('printedForm')} {lit(printed or russian, 'ru')} .",
        ]
        if printed:
            lines.append(f"{person} <{SKOS}altLabel> {lit(latin(printed), 'en')} .")
        lines += [
            f'{person} {k("birthYear")} "{born}"^^<{XSD}gYear> .',
            f"{person} {k('nationality')} {thing('concept', 'nationality-' + nationality)} .",
            f"{person} {k('describedBy')} {record} .",
            f"{person} {k('citation')} {citation} .",
            f"{record} {RDF_TYPE} {k('PersonRecord')} .",
            f"{record} {k('recordOf')} {person} .",
            f'{record} {k("archivalReference")} "{reference}" .',
            f"{record} {k('citation')} {citation} .",
            f"{repression} {RDF_TYPE} {k('Repression')} .",
            f"{repression} {k('victim')} {person} .",
            f"{repression} {k('place')} {thing('place', region)} .",
            f"{repression} {k('inStage')} {thing('stage', period[4])} .",
        ]
        lines += [f"{repression} {k('charge')} {thing('concept', 'article-58-' + c)} ." for c in charge]
        lines += [
            f"{repression} {k('actingBody')} {thing('organisation', body)} .",
            f"{repression} {k('sentence')} {thing('concept', 'sentence-' + sentence)} .",
        ]
        if term:
            lines.append(f'{repression} {k("termYears")} "{term}"^^<{XSD}integer> .')
        lines += [
            f'{repression} {k("arrestDate")} "{arrest.isoformat()}"^^<{XSD}date> .',
            f"{repression} {DERIVED} {record} .",
            f"{repression} {k('citation')} {citation} .",
        ]
        if rehabilitation:
            rehab = thing("rehabilitation", slug)
            date, rehab_body = rehabilitation
            lines += [
                f"{rehab} {RDF_TYPE} {k('Rehabilitation')} .",
                f"{rehab} {k('rehabilitatedPerson')} {person} .",
                f'{rehab} {k("rehabilitationDate")} "{date.isoformat()}"^^<{XSD}date> .',
                f"{rehab} {k('actingBody')} {thing('organisation', rehab_body)} .",
                f"{rehab} {DERIVED} {record} .",
                f"{rehab} {k('citation')} {citation} .",
            ]
        lines += [
            f"{citation} {RDF_TYPE} {k('Citation')} .",
            f"{citation} {k('inSource')} {self.source} .",
            f'{citation} {k("section")} "{self.region_name[region]}" .',
            f"{citation} {k('quote')} {lit(quote, 'ru')} .",
        ]
        return "\n".join(lines) + "\n\n"

    def _period(self, rng: random.Random, nationality: str) -> tuple:
        name = self.periods.draw(rng)
        if name == "deportation" and not self.nationality[nationality][6]:
            name = "post-war"
        return self.period[name]

    @staticmethod
    def _arrest_date(rng: random.Random, period: tuple) -> datetime.date:
        if period[0] == "great-terror" and rng.random() < 0.85:
            first, last = TROIKA_YEARS
        else:
            first, last = datetime.date(period[2], 1, 1), datetime.date(period[3], 12, 31)
        return first + datetime.timedelta(days=rng.randint(0, (last - first).days))

    @staticmethod
    def _body(rng: random.Random, bodies: Weighted, arrest: datetime.date, nationality: str) -> str:
        body = bodies.draw(rng)
        if body == "nkvd-troikas" and not TROIKA_YEARS[0] <= arrest <= TROIKA_YEARS[1]:
            body = "special-board"
        if body == "dvoika" and nationality not in NATIONAL_OPERATIONS:
            body = "nkvd-troikas" if TROIKA_YEARS[0] <= arrest <= TROIKA_YEARS[1] else "special-board"
        return body

    @staticmethod
    def _sentence(rng: random.Random, sentences: Weighted, arrest: datetime.date) -> tuple[str, int]:
        sentence, term = sentences.draw(rng)
        if sentence == "shooting" and NO_DEATH_PENALTY[0] <= arrest <= NO_DEATH_PENALTY[1]:
            sentence, term = "camp", 25
        if term == 25 and arrest.year < 1947:
            term = 10
        return sentence, term

    def _rehabilitation(self, rng: random.Random, arrest: datetime.date, body: str) -> tuple[datetime.date, str]:
        first, last, _ = self.rehabilitations.draw(rng)
        first = max(first, arrest.year + 2, 1954 if arrest.year < 1954 else 1989)
        last = max(first, last)
        date = datetime.date(first, 1, 1) + datetime.timedelta(days=rng.randint(0, 365 * (last - first) + 364))
        if date.year < 1989:
            rehab_body = "military-board" if body == "military-board" else "supreme-court-kazssr"
        else:
            rehab_body = "prosecutors-offices-kazakhstan"
        return date, rehab_body

    def _quote(self, name, woman, born, nationality, region, arrest, body, charge, sentence, term,
               rehabilitation, reference) -> str:
        """The register's line about the person, in Russian, as a Memory Book prints it."""
        a = "а" if woman else ""
        nat = self.nationality[nationality][3 if woman else 2]
        articles = ", ".join(f"58-{c}" for c in charge)
        if sentence == "shooting":
            verdict = "ВМН (расстрел)"
        elif sentence == "camp":
            verdict = f"{term} лет ИТЛ" if term >= 5 else f"{term} года ИТЛ"
        else:
            verdict = f"ссылка на {term} лет" if term >= 5 else f"ссылка на {term} года"
        text = (f"{name}, {born} г. р., {nat}, {self.region_name[region]} Арестован{a} {arrest:%d.%m.%Y}. "
                f"Осужден{a} {BODIES[body]} по ст. {articles} УК РСФСР. Приговор: {verdict}.")
        if rehabilitation:
            date, rehab_body = rehabilitation
            text += f" Реабилитирован{a} {date:%d.%m.%Y} {BODIES[rehab_body]}."
        return f"{text} {reference}."


SOURCE_LABELS = {
    "en": "Synthetic Memory Book “{name}” (generated by repression-kg synth, seed {seed}; not historical data)",
    "ru": "Синтетическая Книга памяти «{name}» (создана repression-kg synth, seed {seed}; не исторические данные)",
    "kk": "«{name}» синтетикалық Естелік кітабы (repression-kg synth жасаған, seed {seed}; тарихи дерек емес)",
}
PERPETRATORS = ("A charge of the Soviet criminal code, in the perpetrators' terms, kept as their terms; "
                "not a description of the persons so charged.")
LEGEND = "ВМН — высшая мера наказания; ИТЛ — исправительно-трудовой лагерь; ст. — статья УК РСФСР."
SCHEMES = (  # slug, labels (en, ru, kk), concepts (slug, en, ru, kk)
    ("synth-nationalities",
     ("Nationalities (synthetic)", "Национальности (синтетическая схема)", "Ұлттар (синтетикалық сұлба)"),
     [(f"nationality-{n[0]}", n[1], n[2], n[4]) for n in NATIONALITIES]),
    ("synth-article-58",
     ("Article 58 of the RSFSR Criminal Code, paragraphs (synthetic)", "Пункты статьи 58 УК РСФСР (синтетическая схема)",
      "РКФСР ҚК 58-бабының тармақтары (синтетикалық сұлба)"),
     [(f"article-58-{a[0]}", f"Article 58-{a[0]}: {a[1]}", f"Ст. 58-{a[0]}: {a[2]}", f"58-{a[0]}-бап: {a[3]}")
      for a in ARTICLES]),
    ("synth-sentences",
     ("Sentences (synthetic)", "Приговоры (синтетическая схема)", "Үкімдер (синтетикалық сұлба)"),
     [(f"sentence-{s[0]}", s[1], s[2], s[3]) for s in SENTENCES]),
)


def vocabulary(name: str, seed: int, persons: int) -> str:
    """The registry's own things: the synthetic source and the synthetic concept schemes."""
    source, citation = thing("source", f"{name}-registry"), thing("citation", f"{name}-registry-legend")
    note = f"Synthetic: generated by repression-kg synth --persons {persons} --seed {seed}; not a historical source."
    lines = [f"{source} {RDF_TYPE} {k('Source')} ."]
    lines += [f"{source} {LABEL} {lit(text.format(name=name, seed=seed), lang)} ." for lang, text in SOURCE_LABELS.items()]
    lines += [
        f"{source} <{DCT}description> {lit(note, 'en')} .",
        f"{source} {k('editorialNote')} {lit(note, 'en')} .",
        f"{citation} {RDF_TYPE} {k('Citation')} .",
        f"{citation} {k('inSource')} {source} .",
        f'{citation} {k("section")} "Условные сокращения" .',
        f"{citation} {k('quote')} {lit(LEGEND, 'ru')} .",
    ]
    for slug, labels, concepts in SCHEMES:
        scheme = thing("scheme", slug)
        lines.append(f"{scheme} {RDF_TYPE} <{SKOS}ConceptScheme> .")
        lines += [f"{scheme} {p} {lit(text, lang)} ." for text, lang in zip(labels, ("en", "ru", "kk"))
                  for p in (f"<{SKOS}prefLabel>", LABEL)]
        lines.append(f"{scheme} <{DCT}description> {lit(note, 'en')} .")
        for concept_slug, *texts in concepts:
            concept = thing("concept", concept_slug)
            lines += [f"{concept} {RDF_TYPE} <{SKOS}Concept> .", f"{concept} <{SKOS}inScheme> {scheme} ."]
            lines += [f"{concept} {p} {lit(text, lang)} ." for text, lang in zip(texts, ("en", "ru", "kk"))
                      for p in (f"<{SKOS}prefLabel>", LABEL)]
            lines += [f"{concept} <{SKOS}scopeNote> {lit(note, 'en')} .", f"{concept} {k('citation')} {citation} ."]
            if slug == "synth-article-58":
                lines.append(f"{concept} <{SKOS}scopeNote> {lit(PERPETRATORS, 'en')} .")
    return "\n".join(lines) + "\n"


def synthesize(out: Path, persons: int, seed: int, name: str = "synth") -> dict:
    """Write a synthetic registry of persons into out (vocabulary.nt, persons.nt, registry.json); return the manifest."""
    if not SLUG.match(name):
        raise ValueError(f"the registry name {name!r} must be lower-case ASCII letters, digits and hyphens")
    if persons < 1:
        raise ValueError(f"the number of persons must be at least 1, not {persons}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    vocab = vocabulary(name, seed, persons)
    (out / "vocabulary.nt").write_text(vocab, encoding="utf-8")
    registry, triples = Registry(name, seed), vocab.count("\n")
    with open(out / "persons.nt", "w", encoding="utf-8", newline="\n", buffering=1 << 22) as f:
        for start in range(1, persons + 1, CHUNK):
            text = "".join(registry.person(n) for n in range(start, min(start + CHUNK, persons + 1)))
            triples += text.count(" .\n")
            f.write(text)
    manifest = {
        "name": name, "seed": seed, "persons": persons, "triples": triples, "synthetic": True,
        "generator": f"repression-kg synth --persons {persons} --seed {seed} --name {name}",
        "source": thing("source", f"{name}-registry")[1:-1],
        "vocabulary": ["vocabulary.nt"], "records": ["persons.nt"],
    }
    (out / "registry.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest
