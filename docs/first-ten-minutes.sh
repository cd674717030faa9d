#!/usr/bin/env bash
# The first ten minutes with avenir: run it from the repository's root, with
# `make run` going in another terminal. The README shows these commands;
# services/e2e runs this very file against a fresh server on every `make test`.
set -euo pipefail

# Who you are: tokens minted with the dev server's key (in ./data).
export AVENIR_TOKEN=$(./bin/avenir auth token --role admin --subject me)
coord=$(./bin/avenir auth token --role referent --referent-id ref-anne --territory T05 --coordinator)
op=$(./bin/avenir auth token --role operator --operator-id op-evreux)
funder=$(./bin/avenir auth token --role funder --subject region)

# A referent for Évreux (T05): learners entering the pathway are assigned automatically.
./bin/avenir referents register --name "Anne Leroy" --organisation "AFPA Évreux" --territory T05 --capacity 40

# A person is welcomed: registered (intake), then enters the pathway (pathway). The services
# learn from each other's events within moments: hence the short pauses.
learner=$(./bin/avenir learners register --family-name Martin --given-name Léa --birth-date 2003-05-14 \
    --territory T05 --commune 27229 --email lea.martin@example.fr --education-level 3 \
    --referral-source mission-locale -o json | sed -n 's/.*"learner_id": "\(.*\)".*/\1/p')
sleep 1
./bin/avenir pathways enter "$learner"
sleep 1
./bin/avenir referents assignment "$learner"           # Anne Leroy, and why she was chosen

# Her referent analyses her needs; the pathway moves on.
analysis=$(AVENIR_TOKEN=$coord ./bin/avenir analyses start "$learner" -o json | sed -n 's/.*"analysis_id": "\(.*\)".*/\1/p')
AVENIR_TOKEN=$coord ./bin/avenir analyses draft "$analysis" --file docs/examples/analysis.yaml
AVENIR_TOKEN=$coord ./bin/avenir analyses complete "$analysis"
sleep 1
AVENIR_TOKEN=$coord ./bin/avenir pathways get "$learner"      # phase: needs-analysed
AVENIR_TOKEN=$coord ./bin/avenir pathways timeline "$learner" # every service's events, in order

# Her training operator is paid: an #Avenir contract, her enrolment with it (no enrolment, no pay),
# a day of training, a flat fee, the month's statement.
contract=$(./bin/avenir funding contracts create --operator-id op-evreux --reference "Lot 5 Eure" --territory T05 \
    --programme avenir --from today-30 --to today+330 --trainee-hour-rate-cents 1250 \
    --fee needs-analysis-completed=15000 --envelope-cents 120000000 --max-group-size 12 -o json \
    | sed -n 's/.*"contract_id": "\(.*\)".*/\1/p')
sleep 1
AVENIR_TOKEN=$coord ./bin/avenir pathways enrol "$learner" --contract "$contract" --kind accompaniment --from today
sleep 1
AVENIR_TOKEN=$op ./bin/avenir funding hours report "$contract" --line-id L-0001 --learner "$learner" \
    --date today --minutes 210 --activity face-to-face
AVENIR_TOKEN=$op ./bin/avenir funding claim-fee "$contract" "$learner" --type needs-analysis-completed --line-id F-0001
sleep 1
AVENIR_TOKEN=$funder ./bin/avenir funding statements get "$contract" --period "$(TZ=Europe/Paris date +%Y-%m)"   # 193,75 €
