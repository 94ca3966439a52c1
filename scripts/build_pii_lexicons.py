"""Build the name lexicons shipped in `src/lockgate/pii/data/names.json` (run by hand, offline).

Source: the person providers of Faker (https://github.com/joke2k/faker, MIT licence) for the
European locales of the seven languages (`LOCALES`). Only the given-name and surname lists are
read; nothing is downloaded and the gateway never imports Faker. Faker's lists are samples, not
frequency tables (de_DE lacks "Zimmermann", pl_PL "Nowak"), so `SUPPLEMENT` adds the most
common surnames and given names of each country, compiled by hand for lockgate from general
knowledge (single words, facts, no third-party list copied).

    .venv/bin/pip install 'faker==40.54.0'
    .venv/bin/python scripts/build_pii_lexicons.py

Polish feminine surnames are derived from the masculine ones (-ski/-cki/-dzki -> -ska/-cka/-dzka).
Multi-word surnames ("van den Berg", "Ariens Ansems") contribute each capitalised word.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

LOCALES = (
    "en_US", "en_GB", "en_IE", "de_DE", "de_AT", "de_CH", "fr_FR", "fr_BE", "fr_CH", "it_IT",
    "es_ES", "pl_PL", "nl_NL", "nl_BE",
)  # fmt: skip
SUPPLEMENT_SURNAMES = {
    "de": "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch "
    "Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann "
    "Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König "
    "Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel "
    "Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster "
    "Simon Ludwig Böhm Winter Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß "
    "Seidel Heinrich Brandt Haas Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn "
    "Busch Bergmann Thomas Voigt Sauer Arnold Wolff Pfeiffer",
    "fr": "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel "
    "Lefebvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine "
    "Rousseau Vincent Muller Lefèvre Faure André Mercier Blanc Guérin Boyer Garnier Chevalier "
    "François Legrand Gauthier Garcia Perrin Robin Clément Morin Nicolas Henry Roussel Mathieu "
    "Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noël Meyer Dufour Meunier Brun Blanchard",
    "it": "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo Conti "
    "De Luca Mancini Costa Giordano Rizzo Lombardi Moretti Barbieri Fontana Santoro Mariani Rinaldi "
    "Caruso Ferrara Galli Martini Leone Longo Gentile Martinelli Vitale Lombardo Serra Coppola De "
    "Santis D'Angelo Marchetti Parisi Villa Conte Ferraro Ferri Fabbri Bianco Marini Grasso Valentini "
    "Messina Sala De Angelis Gatti Pellegrini Palumbo Sanna Farina Rizzi Monti Cattaneo Morelli Amato",
    "es": "García Rodríguez González Fernández López Martínez Sánchez Pérez Gómez Martín Jiménez Ruiz "
    "Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro Torres Domínguez Vázquez "
    "Ramos Gil Ramírez Serrano Blanco Molina Morales Suárez Ortega Delgado Castro Ortiz Rubio Marín "
    "Sanz Núñez Iglesias Medina Garrido Cortés Castillo Santos Lozano Guerrero Cano Prieto Méndez "
    "Cruz Calvo Gallego Vidal León Márquez Herrera Peña Flores Cabrera Campos Vega Fuentes Carrasco",
    "pl": "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński Szymański "
    "Woźniak Dąbrowski Kozłowski Jankowski Mazur Wojciechowski Kwiatkowski Krawczyk Kaczmarek "
    "Piotrowski Grabowski Zając Pawłowski Michalski Król Wieczorek Jabłoński Wróbel Nowakowski "
    "Majewski Olszewski Stępień Malinowski Jaworski Adamczyk Dudek Nowicki Pawlak Górski Witkowski "
    "Walczak Sikora Baran Rutkowski Michalak Szewczyk Ostrowski Tomaszewski Pietrzak Duda Zalewski "
    "Wróblewski Jasiński Marciniak Bąk Zawadzki Sadowski Jakubowski Wilk Chmielewski Włodarczyk",
    "nl": "Jansen Vries Bakker Visser Smit Meijer Boer Mulder Groot Bos Vos Peters Hendriks Leeuwen "
    "Dekker Brouwer Wit Dijkstra Smits Graaf Linden Kok Jacobs Haan Vermeulen Heuvel Veen Broek "
    "Bruijn Bruin Heijden Schouten Beek Willems Vliet Ven Hoekstra Maas Verhoeven Koster Prins Blom "
    "Huisman Peeters Dijk Jong Berg Wouters Janssens Maes Claes Goossens Wauters Mertens Dubois",
    "en": "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
    "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood "
    "Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James "
    "Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter "
    "Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson "
    "Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt "
    "Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell Barker "
    "Fisher Stevens Jenkins Murray Dixon Harvey Sullivan Whitaker Ashworth Okafor Okonkwo",
}
SUPPLEMENT_GIVEN = {
    "de": "Lukas Leon Finn Jonas Paul Felix Elias Noah Luis Ben Maximilian Julian Tim Jan Niklas "
    "Stefan Michael Thomas Andreas Markus Christian Daniel Frank Jürgen Uwe Klaus Dieter Wolfgang "
    "Sabine Petra Claudia Katrin Anja Nicole Susanne Andrea Birgit Monika Ursula Karin Lena Mia "
    "Emma Hannah Lea Leonie Marie Sophie Laura Julia Lina",
    "fr": "Jean Pierre Michel Philippe Alain Nicolas Julien Antoine Thomas Hugo Louis Lucas Gabriel "
    "Arthur Nathalie Isabelle Sylvie Catherine Sophie Camille Manon Léa Chloé Emma Jade Louise "
    "Émilie Claire Céline Sandrine",
    "it": "Marco Andrea Matteo Luca Giuseppe Giovanni Francesco Alessandro Lorenzo Davide Paolo "
    "Stefano Roberto Simone Federico Giulia Francesca Sara Chiara Valentina Elena Alessia Martina "
    "Sofia Anna Silvia Federica Paola Laura Maria",
    "es": "Antonio José Manuel Francisco David Juan Javier Daniel Carlos Jesús Alejandro Miguel Pablo "
    "Sergio Diego María Carmen Ana Isabel Laura Lucía Marta Elena Cristina Paula Sara Raquel Pilar",
    "pl": "Piotr Krzysztof Andrzej Tomasz Paweł Jan Michał Marcin Jakub Adam Łukasz Marek Grzegorz "
    "Anna Maria Katarzyna Małgorzata Agnieszka Barbara Ewa Magdalena Joanna Monika Aleksandra Zofia",
    "nl": "Jan Pieter Daan Sem Lucas Bram Thijs Ruben Jeroen Bas Lars Tim Sander Joost Sanne Emma "
    "Julia Lotte Femke Anouk Fleur Iris Eva Lisa Maud Esther Inge Marieke",
    "en": "James John Robert Michael William David Richard Thomas Daniel Matthew Oliver Harry George "
    "Jack Mary Patricia Jennifer Linda Sarah Emily Jessica Olivia Amelia Hannah Chloe Rachel Helen",
}
OUT = Path(__file__).resolve().parents[1] / "src" / "lockgate" / "pii" / "data" / "names.json"
GIVEN_ATTRS = ("first_names", "first_names_male", "first_names_female")
SURNAME_ATTRS = ("last_names", "male_last_names", "unisex_last_names", "last_names_male", "last_names_female")


def _words(values: Any) -> set[str]:
    out: set[str] = set()
    for value in values or ():
        for word in str(value).replace("-", " ").split():
            if len(word) >= 2 and word[0].isupper() and word.replace("'", "").isalpha():
                out.add(word)
    return out


def _polish_feminine(surnames: set[str]) -> set[str]:
    return {s[:-1] + "a" for s in surnames if s.endswith(("ski", "cki", "dzki"))}


def main() -> None:
    import faker

    given: dict[str, list[str]] = {}
    surnames: dict[str, list[str]] = {}
    for locale in LOCALES:
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        g: set[str] = set()
        for attr in GIVEN_ATTRS:
            g |= _words(getattr(provider, attr, ()))
        s: set[str] = set()
        for attr in SURNAME_ATTRS:
            s |= _words(getattr(provider, attr, ()))
        if locale == "pl_PL":
            s |= _polish_feminine(s)
        s.discard("Doe")
        given[locale] = sorted(g)
        surnames[locale] = sorted(s)
    given["supplement"] = sorted({w for words in SUPPLEMENT_GIVEN.values() for w in _words(words.split())})
    extra = {w for words in SUPPLEMENT_SURNAMES.values() for w in _words(words.split())}
    surnames["supplement"] = sorted(extra | _polish_feminine(extra))
    data = {
        "source": f"Faker {faker.VERSION} person providers ({', '.join(LOCALES)}); "
        "'supplement': common names per country compiled by hand for lockgate",
        "licence": "MIT (c) Daniele Faraglia and Faker contributors",
        "url": "https://github.com/joke2k/faker",
        "given": sorted({n for names in given.values() for n in names}),
        "surnames": sorted({n for names in surnames.values() for n in names}),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(
        json.dumps(data, ensure_ascii=False, indent=0, sort_keys=True).replace(",\n", ", ") + "\n",
        encoding="utf-8",
    )
    print(f"wrote {OUT} ({len(data['given'])} given names, {len(data['surnames'])} surnames)")


if __name__ == "__main__":
    main()
