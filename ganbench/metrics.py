"""Registered metrics: the names that appear as columns in trials.csv and summary.csv."""

from __future__ import annotations

from ganbench.registry import Registry

METRICS: Registry[str] = Registry("metric")
for _name, _desc in [
    ("modes_covered", "modes with at least min_count high-quality samples (toy); digit classes or "
                      "triples with at least one sample (digits: 10, stacked_digits: 1000)"),
    ("hq_fraction", "share of samples within hq_std·std of their nearest mode (toy)"),
    ("reverse_kl", "KL(p_gen ‖ uniform) of the high-quality mode histogram, nats (toy; images: of "
                   "the classifier's mode histogram)"),
    ("cell_entropy", "entropy of the nearest-mode histogram of all samples, nats (toy)"),
    ("cells_occupied", "nearest-mode cells holding ≥ 1/(4K) of the samples (toy)"),
    ("chance_coverage", "modes a uniform spread of the same samples would cover by chance (toy)"),
    ("frechet_distance", "Fréchet distance of Gaussians fitted to real and generated samples (toy, via torch-fidelity)"),
    ("dist_final", "Dirac-GAN distance to equilibrium sqrt(θ² + ψ²) at the end"),
    ("g_grad_norm_final", "L2 norm of ∂L_G/∂θ_G at the last probe"),
    ("d_grad_norm_final", "L2 norm of ∂L_D/∂θ_D at the last probe"),
    ("d_real_final", "D's mean output on real samples at the last probe"),
    ("d_fake_final", "D's mean output on generated samples at the last probe"),
    ("fid", "FID via torch-fidelity (images; extractor in the protocol: digits or inception-v3-compat)"),
    ("kid_mean", "KID mean over subsets via torch-fidelity (images)"),
    ("kid_std", "KID standard deviation over subsets via torch-fidelity (images)"),
    ("precision", "improved precision, Kynkäänniemi et al. 2019, via torch-fidelity (images)"),
    ("recall", "improved recall, Kynkäänniemi et al. 2019, via torch-fidelity (images)"),
]:
    METRICS.add(_name, _name, _desc)
