"""The evaluation report as one PNG (matplotlib, Agg backend: no display needed).

Left: out-of-sample balanced accuracy per model with the chance band of its shift test (2.5-97.5%
of rotated predictions), and the permuted-label control beside it. Middle: macro AUC per model.
Right: the LSTM's training and validation loss per epoch, one line per fold.
"""

from __future__ import annotations

from pathlib import Path


def plot_report(report: dict, history: list[list[dict]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = report["models"]
    names = list(models)
    control = report.get("controls", {}).get("permuted_labels", {}).get("models", {})
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))

    ax = axes[0]
    xs = range(len(names))
    for i, name in enumerate(names):
        t = models[name]["chance_test"]
        ax.fill_between([i - 0.4, i + 0.4], t["null_q025"], t["null_q975"], color="0.85", lw=0)
    ax.bar([x - 0.18 for x in xs], [models[n]["balanced_accuracy"] for n in names], width=0.36, label="out of sample")
    if control:
        ax.bar([x + 0.18 for x in xs], [control[n]["balanced_accuracy"] if n in control else 0 for n in names],
               width=0.36, color="tab:orange", label="permuted labels")
    ax.axhline(1 / 3, color="k", lw=0.8, ls="--")
    ax.set_xticks(list(xs), names)
    ax.set_ylabel("balanced accuracy")
    ax.set_title("balanced accuracy (grey: chance band)")
    ax.set_ylim(0.2, max(0.5, max(models[n]["balanced_accuracy"] for n in names) + 0.05))
    ax.legend(fontsize=8)

    ax = axes[1]
    ax.bar(list(xs), [models[n]["auc_macro"] for n in names], color="tab:green")
    ax.axhline(0.5, color="k", lw=0.8, ls="--")
    ax.set_xticks(list(xs), names)
    ax.set_ylim(0.4, 0.7)
    ax.set_title("macro AUC (one vs rest)")

    ax = axes[2]
    for k, rows in enumerate(history):
        epochs = [r["epoch"] for r in rows]
        for key, style, what in (("train_loss", "--", "train"), ("val_loss", "-", "validation")):
            if rows and key in rows[0]:
                ax.plot(epochs, [r[key] for r in rows], ls=style, color=f"C{k}", label=f"fold {k} {what}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("weighted cross-entropy")
    ax.set_title("LSTM training")
    ax.legend(fontsize=8)

    data = report.get("data", {})
    fig.suptitle(f"{data.get('rows', '?')} bars, horizon {data.get('horizon', '?')}, "
                 f"dead zone {data.get('dead_zone_bps', '?')} bp: out-of-sample over {len(history)} walk-forward folds")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
