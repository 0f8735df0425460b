module roost.dev/testenv/parentdeath

go 1.24.0
