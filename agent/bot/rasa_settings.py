"""Accepted config.yml keys for Rasa pipeline components and policies.

Source: Rasa 3.6 source, get_default_config of each class (read from the
rasa 3.6.21 wheel; keys inherited through super/parent get_default_config are
included and constants resolved to their string values). Policies also get
the keys read by the Policy base class (rasa/core/policies/policy.py):
"priority", "featurizer" and "max_history". "state_featurizer" is not a
top-level policy key: Rasa reads it only inside a "featurizer" entry.
The pipeline/policy "name" key itself is not listed.

Date: 2026-12-01
"""

# Every tokenizer's keys (Tokenizer.get_default_config)
_TOKENIZER = frozenset({"intent_split_symbol", "intent_tokenization_flag", "prefix_separator_symbol", "token_pattern"})

# DIETClassifier.get_default_config; ResponseSelector extends it
_DIET = frozenset(
    {
        "batch_size",
        "batch_strategy",
        "BILOU_flag",
        "checkpoint_model",
        "concat_dimension",
        "connection_density",
        "constrain_similarities",
        "dense_dimension",
        "drop_rate",
        "drop_rate_attention",
        "drop_small_last_batch",
        "embedding_dimension",
        "entity_recognition",
        "epochs",
        "evaluate_every_number_of_epochs",
        "evaluate_on_number_of_examples",
        "featurizers",
        "hidden_layers_sizes",
        "intent_classification",
        "learning_rate",
        "loss_type",
        "max_relative_position",
        "maximum_negative_similarity",
        "maximum_positive_similarity",
        "model_confidence",
        "negative_margin_scale",
        "number_of_attention_heads",
        "number_of_negative_examples",
        "number_of_transformer_layers",
        "random_seed",
        "ranking_length",
        "regularization_constant",
        "renormalize_confidences",
        "run_eagerly",
        "scale_loss",
        "share_hidden_layers",
        "similarity_type",
        "split_entities_by_comma",
        "tensorboard_log_directory",
        "tensorboard_log_level",
        "transformer_size",
        "unidirectional_encoder",
        "use_dense_input_dropout",
        "use_key_relative_attention",
        "use_masked_language_model",
        "use_maximum_negative_similarity",
        "use_sparse_input_dropout",
        "use_value_relative_attention",
    }
)

# What TEDPolicy and UnexpecTEDIntentPolicy both take
_TED = frozenset(
    {
        "batch_size",
        "batch_strategy",
        "BILOU_flag",
        "checkpoint_model",
        "concat_dimension",
        "connection_density",
        "dense_dimension",
        "drop_rate",
        "drop_rate_attention",
        "drop_rate_dialogue",
        "drop_rate_label",
        "embedding_dimension",
        "encoding_dimension",
        "entity_recognition",
        "epochs",
        "evaluate_every_number_of_epochs",
        "evaluate_on_number_of_examples",
        "featurizer",
        "featurizers",
        "hidden_layers_sizes",
        "learning_rate",
        "loss_type",
        "max_history",
        "max_relative_position",
        "number_of_attention_heads",
        "number_of_negative_examples",
        "number_of_transformer_layers",
        "priority",
        "random_seed",
        "ranking_length",
        "regularization_constant",
        "scale_loss",
        "similarity_type",
        "split_entities_by_comma",
        "tensorboard_log_directory",
        "tensorboard_log_level",
        "transformer_size",
        "unidirectional_encoder",
        "use_dense_input_dropout",
        "use_gpu",
        "use_key_relative_attention",
        "use_masked_language_model",
        "use_sparse_input_dropout",
        "use_value_relative_attention",
    }
)

RASA_SETTINGS: dict[str, frozenset[str]] = {
    "WhitespaceTokenizer": _TOKENIZER,
    "JiebaTokenizer": _TOKENIZER | {"dictionary_path"},
    "SpacyTokenizer": _TOKENIZER,
    "MitieTokenizer": _TOKENIZER,
    "RegexFeaturizer": frozenset(
        {"alias", "case_sensitive", "use_lookup_tables", "use_regexes", "use_word_boundaries"}
    ),
    "LexicalSyntacticFeaturizer": frozenset({"alias", "features"}),
    "CountVectorsFeaturizer": frozenset(
        {
            "alias",
            "analyzer",
            "lowercase",
            "max_df",
            "max_features",
            "max_ngram",
            "min_df",
            "min_ngram",
            "OOV_token",
            "OOV_words",
            "stop_words",
            "strip_accents",
            "use_lemma",
            "use_shared_vocab",
        }
    ),
    "SpacyFeaturizer": frozenset({"alias", "pooling"}),
    "LanguageModelFeaturizer": frozenset({"alias", "cache_dir", "model_name", "model_weights"}),
    "ConveRTFeaturizer": frozenset({"alias", "model_url"}),
    "MitieFeaturizer": frozenset({"alias", "pooling"}),
    "DIETClassifier": _DIET,
    "LogisticRegressionClassifier": frozenset({"max_iter", "random_state", "ranking_length", "solver", "tol"}),
    "SklearnIntentClassifier": frozenset(
        {"C", "gamma", "kernels", "max_cross_validation_folds", "num_threads", "scoring_function"}
    ),
    "KeywordIntentClassifier": frozenset({"case_sensitive"}),
    "MitieIntentClassifier": frozenset({"num_threads"}),
    "FallbackClassifier": frozenset({"ambiguity_threshold", "threshold"}),
    "RegexEntityExtractor": frozenset({"case_sensitive", "use_lookup_tables", "use_regexes", "use_word_boundaries"}),
    "CRFEntityExtractor": frozenset(
        {"BILOU_flag", "features", "featurizers", "L1_c", "L2_c", "max_iterations", "split_entities_by_comma"}
    ),
    "EntitySynonymMapper": frozenset(),
    "SpacyEntityExtractor": frozenset({"dimensions"}),
    "MitieEntityExtractor": frozenset({"num_threads"}),
    "DucklingEntityExtractor": frozenset({"dimensions", "locale", "timeout", "timezone", "url"}),
    "ResponseSelector": _DIET | {"retrieval_intent", "use_text_as_label"},
    "SpacyNLP": frozenset({"case_sensitive"}),
    "MitieNLP": frozenset({"model"}),
    "RulePolicy": frozenset(
        {
            "check_for_contradictions",
            "core_fallback_action_name",
            "core_fallback_threshold",
            "enable_fallback_prediction",
            "featurizer",
            "max_history",
            "priority",
            "restrict_rules",
            "use_nlu_confidence_as_score",
        }
    ),
    "MemoizationPolicy": frozenset(
        {"enable_feature_string_compression", "featurizer", "max_history", "priority", "use_nlu_confidence_as_score"}
    ),
    "AugmentedMemoizationPolicy": frozenset(
        {"enable_feature_string_compression", "featurizer", "max_history", "priority", "use_nlu_confidence_as_score"}
    ),
    "TEDPolicy": _TED
    | frozenset(
        {
            "constrain_similarities",
            "e2e_confidence_threshold",
            "maximum_negative_similarity",
            "maximum_positive_similarity",
            "model_confidence",
            "negative_margin_scale",
            "renormalize_confidences",
            "use_maximum_negative_similarity",
        }
    ),
    "UnexpecTEDIntentPolicy": _TED | frozenset({"ignore_intents_list", "tolerance"}),
}
