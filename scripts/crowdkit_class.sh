# Sourced by the benchmark scripts: ck_class METHOD prints the crowd-kit class of a crowdagg
# method name (the class scripts/crowdkit_e2e.py fits).
ck_class() {
  case $1 in
    mv) echo MajorityVote ;; wawa) echo Wawa ;; ds) echo DawidSkene ;;
    one-coin-ds) echo OneCoinDawidSkene ;; kos) echo KOS ;; zbs) echo ZeroBasedSkill ;;
    mace) echo MACE ;; glad) echo GLAD ;; mmsr) echo MMSR ;;
    *) echo "unknown method $1" >&2; return 1 ;;
  esac
}
