"""The labelled (tuning) set for names, postal addresses and health data, in seven languages.

`labelled_set()` builds the snippets from templates (support tickets, HR mails, CRM notes,
clinical referrals, delivery notes) filled from per-language pools, plus hand-written hard
negatives (place names that are surnames, street names in directions, medical text without a
person, company names). Deterministic; `python tests/pii/pii_labelled.py` writes
`tests/pii/data/pii_labelled.jsonl`, which `bench/pii_quality.py` reads.

The blind set (`tests/pii/data/pii_blind.jsonl`) is written by hand, separately, and is never
used to tune the detectors.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

Snippet = dict[str, Any]  # {"lang", "text", "labels": [[kind, value], ...]}
OUT = Path(__file__).parent / "data" / "pii_labelled.jsonl"

NAMES: dict[str, list[tuple[str, str]]] = {
    "en": [("James", "Walker"), ("Laura", "Bennett"), ("Oliver", "Hughes"), ("Chloe", "Foster"),
           ("Peter", "Lindqvist"), ("Hannah", "Okafor"), ("George", "Whitaker"), ("Amy", "Sullivan")],
    "de": [("Stefan", "Becker"), ("Julia", "Wagner"), ("Lukas", "Schulz"), ("Katrin", "Hartmann"),
           ("Felix", "Brandauer"), ("Sabine", "Lorenz"), ("Michael", "Zimmermann"), ("Anja", "Köhler")],
    "fr": [("Antoine", "Dupont"), ("Claire", "Bernard"), ("Nicolas", "Petit"), ("Émilie", "Laurent"),
           ("Hugo", "Mercier"), ("Manon", "Chevalier"), ("Louis", "Garnier"), ("Sarah", "Roux")],
    "it": [("Marco", "Rossi"), ("Giulia", "Ferrari"), ("Andrea", "Russo"), ("Sara", "Bruno"),
           ("Matteo", "Galli"), ("Elena", "Costa"), ("Paolo", "Fontana"), ("Valentina", "Moretti")],
    "es": [("Carlos", "García"), ("Ana", "Martínez"), ("Diego", "López"), ("Laura", "Sánchez"),
           ("Miguel", "Romero"), ("Isabel", "Torres"), ("Sergio", "Ramírez"), ("Paula", "Gil")],
    "pl": [("Jan", "Kowalski"), ("Katarzyna", "Nowak"), ("Marek", "Wójcik"), ("Ewa", "Kamińska"),
           ("Paweł", "Lewandowski"), ("Joanna", "Zielińska"), ("Adam", "Szymański"), ("Monika", "Woźniak")],
    "nl": [("Jeroen", "de Jong"), ("Sanne", "Jansen"), ("Bas", "van Dijk"), ("Fleur", "Bakker"),
           ("Thijs", "Visser"), ("Eva", "Smit"), ("Ruben", "Meijer"), ("Iris", "de Boer")],
}  # fmt: skip

HONORIFIC: dict[str, list[str]] = {
    "en": ["Mr", "Ms", "Mrs", "Dr."], "de": ["Herr", "Frau", "Dr."], "fr": ["M.", "Mme", "Madame"],
    "it": ["Sig.", "Sig.ra", "Dott."], "es": ["Sr.", "Sra.", "Don"], "pl": ["Pan", "Pani"],
    "nl": ["Dhr.", "Mevr.", "de heer"],
}  # fmt: skip

NAME_TEMPLATES: dict[str, list[str]] = {
    "en": ["Please ask {full} to confirm the delivery date.", "Ticket 2291: {hon} {last} reports a login error.",
           "Dear {hon} {last}, thank you for your order.", "Best regards,\n{full}\nSales",
           "Name: {full}\nDepartment: Finance", "Our colleague {full} joins the team on Monday.",
           "Customer {full} asked for a refund on order 7781.", "From: {full}\nSubject: budget"],
    "de": ["Bitte rufen Sie {full} wegen der Lieferung zurück.", "Sehr geehrte{r} {hon} {last}, vielen Dank für Ihre Bestellung.",
           "Mit freundlichen Grüßen\n{full}\nEinkauf", "Name: {full}, Abteilung Buchhaltung",
           "Kundin {full} möchte die Rechnung per Post.", "Die Kollegin {full} übernimmt die Vertretung.",
           "{hon} {last} hat den Vertrag heute unterschrieben.", "Von: {full}\nBetreff: Angebot"],
    "fr": ["Merci de rappeler {full} au sujet de la livraison.", "Bonjour {hon} {last}, votre commande est prête.",
           "Cordialement,\n{full}\nComptabilité", "Nom : {full}, service achats",
           "Le client {full} demande un remboursement.", "Notre collègue {full} rejoint l'équipe lundi.",
           "{hon} {last} a validé le devis ce matin.", "De : {full}\nObjet : facture"],
    "it": ["Per favore contattare {full} per la consegna.", "Gentile {hon} {last}, la ringraziamo per l'ordine.",
           "Cordiali saluti,\n{full}\nAmministrazione", "Nome e cognome: {full}",
           "Il cliente {full} chiede un rimborso.", "La collega {full} sostituisce Marco da lunedì.",
           "{hon} {last} ha firmato il contratto oggi.", "Da: {full}\nOggetto: preventivo"],
    "es": ["Por favor, llame a {full} sobre la entrega.", "Estimado {hon} {last}, gracias por su pedido.",
           "Un saludo,\n{full}\nCompras", "Nombre: {full}, departamento de ventas",
           "El cliente {full} solicita un reembolso.", "Nuestra compañera {full} se incorpora el lunes.",
           "{hon} {last} ha firmado el contrato hoy.", "De: {full}\nAsunto: presupuesto"],
    "pl": ["Proszę oddzwonić do {full} w sprawie dostawy.", "Szanowny {hon} {last}, dziękujemy za zamówienie.",
           "Pozdrawiam,\n{full}\nDział zakupów", "Imię i nazwisko: {full}",
           "Klient {full} prosi o zwrot pieniędzy.", "Nasza koleżanka {full} dołącza w poniedziałek.",
           "{hon} {last} podpisał umowę dzisiaj.", "Od: {full}\nTemat: oferta"],
    "nl": ["Bel {full} terug over de levering.", "Geachte {hon} {last}, bedankt voor uw bestelling.",
           "Met vriendelijke groet,\n{full}\nInkoop", "Naam: {full}, afdeling financiën",
           "Klant {full} vraagt om terugbetaling.", "Onze collega {full} begint maandag.",
           "{hon} {last} heeft het contract vandaag getekend.", "Van: {full}\nOnderwerp: offerte"],
}  # fmt: skip

ADDRESSES: dict[str, list[str]] = {
    "en": ["12 Station Road, Cambridge CB1 2JH", "45 Queen Street, Edinburgh EH2 3NH",
           "7 Mill Lane, York YO1 7HH", "1600 Amphitheatre Parkway, Mountain View, CA 94043"],
    "de": ["Hauptstraße 12, 80331 München", "Goethestr. 7a, 60313 Frankfurt am Main",
           "Am Markt 3, 28195 Bremen", "Kaiser-Wilhelm-Ring 20, 50672 Köln"],
    "fr": ["12 rue de la République, 69002 Lyon", "5 avenue des Champs-Élysées, 75008 Paris",
           "18 boulevard Gambetta, 06000 Nice", "3 place du Capitole, 31000 Toulouse"],
    "it": ["Via Roma 15, 10121 Torino", "Corso Italia 22, 00198 Roma", "Piazza San Marco 1, 30124 Venezia",
           "Viale dei Mille 8, 50131 Firenze"],
    "es": ["Calle de Serrano 41, 28001 Madrid", "Avenida Diagonal 200, 08018 Barcelona",
           "Plaza Mayor 3, 37002 Salamanca", "C/ Colón 12, 46004 Valencia"],
    "pl": ["ul. Floriańska 15, 31-019 Kraków", "ul. Piotrkowska 104, 90-004 Łódź",
           "al. Niepodległości 18, 02-653 Warszawa", "pl. Solny 4, 50-062 Wrocław"],
    "nl": ["Damstraat 12, 1012 JM Amsterdam", "Oudegracht 45, 3511 AB Utrecht",
           "Coolsingel 40, 3011 AD Rotterdam", "Stationsweg 9, 2312 AT Leiden"],
}  # fmt: skip

ADDRESS_TEMPLATES: dict[str, list[str]] = {
    "en": ["Please ship the parts to {addr}.", "Invoice address: {addr}", "We moved to {addr} last month."],
    "de": ["Bitte liefern Sie an {addr}.", "Rechnungsanschrift: {addr}", "Wir sind umgezogen: {addr}."],
    "fr": ["Merci de livrer au {addr}.", "Adresse de facturation : {addr}", "Nous avons déménagé : {addr}."],
    "it": ["Si prega di spedire a {addr}.", "Indirizzo di fatturazione: {addr}", "Ci siamo trasferiti in {addr}."],
    "es": ["Envíe el pedido a {addr}.", "Dirección de facturación: {addr}", "Nos hemos mudado a {addr}."],
    "pl": ["Proszę wysłać paczkę na adres {addr}.", "Adres do faktury: {addr}", "Przeprowadziliśmy się: {addr}."],
    "nl": ["Stuur de onderdelen naar {addr}.", "Factuuradres: {addr}", "We zijn verhuisd naar {addr}."],
}  # fmt: skip

HEALTH_TERMS: dict[str, list[str]] = {
    "en": ["type 2 diabetes", "depression", "asthma", "epilepsy", "multiple sclerosis", "migraine", "breast cancer"],
    "de": ["Diabetes mellitus Typ 2", "Depressionen", "Asthma", "Epilepsie", "Multiple Sklerose", "Migräne", "Brustkrebs"],
    "fr": ["diabète de type 2", "dépression", "asthme", "épilepsie", "sclérose en plaques", "migraine", "cancer du sein"],
    "it": ["diabete di tipo 2", "depressione", "asma", "epilessia", "sclerosi multipla", "emicrania", "tumore"],
    "es": ["diabetes tipo 2", "depresión", "asma", "epilepsia", "esclerosis múltiple", "migraña", "cáncer de mama"],
    "pl": ["cukrzyca typu 2", "depresja", "astma", "padaczka", "stwardnienie rozsiane", "migrena", "białaczka"],
    "nl": ["diabetes type 2", "depressie", "astma", "epilepsie", "multiple sclerose", "migraine", "borstkanker"],
}  # fmt: skip

HEALTH_TEMPLATES: dict[str, list[str]] = {
    "en": ["I have {term} and need a quieter desk.", "Patient referred with {term}, please assess.",
           "My daughter was diagnosed with {term} in May.", "Diagnosis: {term}. Follow-up in 3 months."],
    "de": ["Ich habe {term} und brauche flexible Arbeitszeiten.", "Der Patient wird mit {term} überwiesen.",
           "Bei meiner Tochter wurde {term} festgestellt, Diagnose im Mai.", "Diagnose: {term}. Kontrolle in 3 Monaten."],
    "fr": ["J'ai {term} et j'ai besoin d'horaires flexibles.", "La patiente est adressée pour {term}.",
           "Ma fille souffre de {term} depuis mai.", "Diagnostic : {term}. Contrôle dans 3 mois."],
    "it": ["Ho {term} e mi servono orari flessibili.", "Il paziente è inviato per {term}.",
           "Mia figlia soffre di {term} da maggio.", "Diagnosi: {term}. Controllo tra 3 mesi."],
    "es": ["Tengo {term} y necesito horario flexible.", "El paciente es remitido por {term}.",
           "Mi hija padece {term} desde mayo.", "Diagnóstico: {term}. Control en 3 meses."],
    "pl": ["Mam zdiagnozowaną chorobę: {term}, potrzebuję elastycznych godzin.", "Pacjent skierowany z rozpoznaniem: {term}.",
           "Moja córka choruje, {term} od maja.", "Diagnoza: {term}. Kontrola za 3 miesiące."],
    "nl": ["Ik heb {term} en heb flexibele uren nodig.", "De patiënt wordt verwezen met {term}.",
           "Mijn dochter lijdt aan {term} sinds mei.", "Diagnose: {term}. Controle over 3 maanden."],
}  # fmt: skip

ARTICLE_TEMPLATES: dict[str, list[str]] = {
    "en": ["{Term} affects millions of adults across Europe, the report says.", "New guidelines on {term} were published this year."],
    "de": ["{Term} betrifft Millionen Menschen in Europa, so der Bericht.", "Neue Leitlinien zu {term} wurden veröffentlicht."],
    "fr": ["Le rapport indique que {term} touche des millions d'adultes.", "De nouvelles recommandations sur {term} sont parues."],
    "it": ["Secondo il rapporto, {term} colpisce milioni di adulti.", "Sono uscite nuove linee guida su {term}."],
    "es": ["Según el informe, {term} afecta a millones de adultos.", "Se han publicado nuevas guías sobre {term}."],
    "pl": ["Według raportu {term} dotyczy milionów dorosłych.", "Opublikowano nowe wytyczne dotyczące choroby: {term}."],
    "nl": ["Volgens het rapport treft {term} miljoenen volwassenen.", "Er zijn nieuwe richtlijnen over {term} verschenen."],
}  # fmt: skip

HARD_NEGATIVES: dict[str, list[str]] = {
    "en": ["The train to Lincoln leaves at 9:15 from platform 4.", "Turn left onto Victoria Street and continue to the roundabout.",
           "Johnson Controls and Morgan Stanley signed the framework deal.", "The conference takes place in Florence and Paris.",
           "Washington approved the tariff changes on Tuesday.", "The study enrolled 1,200 patients with hypertension.",
           "Ford and Jaguar Land Rover report delivery delays.", "Please book the Nelson Room for the quarterly review.",
           "The Lancet published a review of asthma treatments.", "Dear Team, the release is scheduled for Friday.",
           "Hi Anna, thanks for the update on order 55120.", "Best regards,\nMarc"],
    "de": ["Der Zug nach Essen fährt um 9:15 von Gleis 4.", "Biegen Sie in die Schillerstraße ein und fahren Sie bis zum Kreisel.",
           "Die Deutsche Telekom und die Allianz unterzeichnen einen Rahmenvertrag.", "Die Messe findet in Hannover und Frankfurt statt.",
           "Sehr geehrte Damen und Herren, anbei das Angebot.", "Die Studie umfasst 1.200 Patienten mit Bluthochdruck.",
           "Die Paul Hartmann AG erhöht die Preise.", "Bitte buchen Sie den Raum Einstein für das Meeting.",
           "Hallo Anna, danke für die Rückmeldung.", "Mit freundlichen Grüßen\nIhr Serviceteam", "Diabetes ist eine Volkskrankheit.",
           "Die Max-Planck-Gesellschaft veröffentlicht neue Zahlen."],
    "fr": ["Le train pour Nancy part à 9h15 du quai 4.", "Prenez la rue Pasteur puis continuez jusqu'au rond-point.",
           "Renault et Peugeot annoncent des retards de livraison.", "Le salon a lieu à Lille et à Bordeaux.",
           "Madame, Monsieur, veuillez trouver ci-joint le devis.", "L'étude porte sur 1 200 patients hypertendus.",
           "La Fondation Louis Vuitton ouvre une exposition.", "Bonjour Claire, merci pour le retour.",
           "Cordialement,\nL'équipe support", "Le diabète est une maladie chronique fréquente.",
           "Le lycée Victor Hugo organise des portes ouvertes.", "La rue Émile Zola est en travaux."],
    "it": ["Il treno per Ferrara parte alle 9:15 dal binario 4.", "Prendete Via Cavour e proseguite fino alla rotonda.",
           "Fiat e Pirelli annunciano ritardi nelle consegne.", "La fiera si tiene a Bologna e Verona.",
           "Gentili signori, in allegato il preventivo.", "Lo studio ha coinvolto 1.200 pazienti ipertesi.",
           "L'Aeroporto Leonardo da Vinci ha un nuovo terminal.", "Ciao Giulia, grazie per l'aggiornamento.",
           "Cordiali saluti,\nIl team assistenza", "Il diabete è una malattia cronica diffusa.",
           "Il Liceo Galileo Galilei apre le iscrizioni.", "Piazza Giuseppe Mazzini è chiusa al traffico."],
    "es": ["El tren a Toledo sale a las 9:15 del andén 4.", "Tome la Calle Princesa y siga hasta la rotonda.",
           "Telefónica e Iberdrola anuncian retrasos.", "La feria se celebra en Bilbao y Málaga.",
           "Estimados señores, adjuntamos el presupuesto.", "El estudio incluyó a 1.200 pacientes hipertensos.",
           "El Museo Reina Sofía amplía su horario.", "Hola Pablo, gracias por la actualización.",
           "Un saludo,\nEl equipo de soporte", "La diabetes es una enfermedad crónica frecuente.",
           "El Colegio Miguel de Cervantes abre la matrícula.", "La Avenida Juan Carlos está en obras."],
    "pl": ["Pociąg do Lublina odjeżdża o 9:15 z peronu 4.", "Proszę skręcić w ulicę Mickiewicza i jechać do ronda.",
           "Orlen i PZU podpisały umowę ramową.", "Targi odbędą się w Poznaniu i Gdańsku.",
           "Szanowni Państwo, w załączniku przesyłamy ofertę.", "Badanie objęło 1200 pacjentów z nadciśnieniem.",
           "Uniwersytet Adama Mickiewicza ogłosił rekrutację.", "Cześć Ewa, dzięki za informację.",
           "Pozdrawiam,\nZespół wsparcia", "Cukrzyca jest częstą chorobą przewlekłą.",
           "Lotnisko Chopina ma nowy terminal.", "Plac Jana Pawła jest zamknięty."],
    "nl": ["De trein naar Breda vertrekt om 9:15 van spoor 4.", "Sla linksaf de Kerkstraat in en rijd door tot de rotonde.",
           "Philips en Heineken melden vertraging.", "De beurs vindt plaats in Utrecht en Eindhoven.",
           "Geachte heer, mevrouw, bijgaand de offerte.", "Het onderzoek omvatte 1.200 patiënten met hoge bloeddruk.",
           "Het Anne Frank Huis verlengt de openingstijden.", "Hoi Sanne, bedankt voor de update.",
           "Met vriendelijke groet,\nHet supportteam", "Diabetes is een veelvoorkomende chronische ziekte.",
           "Stichting Vincent van Gogh opent een expositie.", "De Willem de Zwijgerlaan is afgesloten."],
}  # fmt: skip

LANGS = ("en", "de", "fr", "it", "es", "pl", "nl")


def _full(lang: str, given: str, last: str) -> str:
    return f"{given} {last}"


def labelled_set(seed: int = 13) -> list[Snippet]:
    rng = random.Random(seed)
    out: list[Snippet] = []
    for lang in LANGS:
        names, honorifics = NAMES[lang], HONORIFIC[lang]
        for template in NAME_TEMPLATES[lang]:
            for given, last in names:
                hon = rng.choice(honorifics)
                full = _full(lang, given, last)
                text = template.format(full=full, hon=hon, last=last, r="r" if hon == "Herr" else "")
                value = last if "{last}" in template else full
                out.append({"lang": lang, "text": text, "labels": [["name", value]]})
        for template in ADDRESS_TEMPLATES[lang]:
            for addr in ADDRESSES[lang]:
                out.append({"lang": lang, "text": template.format(addr=addr), "labels": [["address", addr]]})
        for template in HEALTH_TEMPLATES[lang]:
            for term in HEALTH_TERMS[lang]:
                out.append({"lang": lang, "text": template.format(term=term), "labels": [["health", term]]})
        for template in ARTICLE_TEMPLATES[lang]:
            for term in HEALTH_TERMS[lang]:
                text = template.format(term=term, Term=term[:1].upper() + term[1:])
                out.append({"lang": lang, "text": text, "labels": []})
        # a delivery note or referral with all three types
        for (given, last), addr, term in zip(names[:4], ADDRESSES[lang], HEALTH_TERMS[lang], strict=False):
            full = _full(lang, given, last)
            text = f"{full}, {addr}. " + HEALTH_TEMPLATES[lang][3].format(term=term)
            labels = [["name", full], ["address", addr], ["health", term]]
            out.append({"lang": lang, "text": text, "labels": labels})
        out.extend({"lang": lang, "text": text, "labels": []} for text in HARD_NEGATIVES[lang])
    return out


def main() -> None:
    OUT.parent.mkdir(exist_ok=True)
    rows = labelled_set()
    with OUT.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {OUT} ({len(rows)} snippets)")


if __name__ == "__main__":
    main()
