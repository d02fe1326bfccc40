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

RASA_SETTINGS: dict[str, frozenset[str]] = {
    # WhitespaceTokenizer: get_default_config (4 keys)
    "WhitespaceTokenizer": frozenset(
        {
            "intent_split_symbol",
            "intent_tokenization_flag",
            "prefix_separator_symbol",
            "token_pattern",
        }
    ),
    # JiebaTokenizer: get_default_config (5 keys)
    "JiebaTokenizer": frozenset(
        {
            "dictionary_path",
            "intent_split_symbol",
            "intent_tokenization_flag",
            "prefix_separator_symbol",
            "token_pattern",
        }
    ),
    # SpacyTokenizer: get_default_config (4 keys)
    "SpacyTokenizer": frozenset(
        {
            "intent_split_symbol",
            "intent_tokenization_flag",
            "prefix_separator_symbol",
            "token_pattern",
        }
    ),
    # MitieTokenizer: get_default_config (4 keys)
    "MitieTokenizer": frozenset(
        {
            "intent_split_symbol",
            "intent_tokenization_flag",
            "prefix_separator_symbol",
            "token_pattern",
        }
    ),
    # RegexFeaturizer: get_default_config + Featurizer ('alias') (5 keys)
    "RegexFeaturizer": frozenset(
        {
            "alias",
            "case_sensitive",
            "use_lookup_tables",
            "use_regexes",
            "use_word_boundaries",
        }
    ),
    # LexicalSyntacticFeaturizer: get_default_config + Featurizer ('alias') (2 keys)
    "LexicalSyntacticFeaturizer": frozenset(
        {
            "alias",
            "features",
        }
    ),
    # CountVectorsFeaturizer: get_default_config + Featurizer ('alias') (14 keys)
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
    # SpacyFeaturizer: get_default_config + Featurizer ('alias') (2 keys)
    "SpacyFeaturizer": frozenset(
        {
            "alias",
            "pooling",
        }
    ),
    # LanguageModelFeaturizer: get_default_config + Featurizer ('alias') (4 keys)
    "LanguageModelFeaturizer": frozenset(
        {
            "alias",
            "cache_dir",
            "model_name",
            "model_weights",
        }
    ),
    # ConveRTFeaturizer: get_default_config + Featurizer ('alias') (2 keys)
    "ConveRTFeaturizer": frozenset(
        {
            "alias",
            "model_url",
        }
    ),
    # MitieFeaturizer: get_default_config + Featurizer ('alias') (2 keys)
    "MitieFeaturizer": frozenset(
        {
            "alias",
            "pooling",
        }
    ),
    # DIETClassifier: get_default_config (48 keys)
    "DIETClassifier": frozenset(
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
    ),
    # LogisticRegressionClassifier: get_default_config (5 keys)
    "LogisticRegressionClassifier": frozenset(
        {
            "max_iter",
            "random_state",
            "ranking_length",
            "solver",
            "tol",
        }
    ),
    # SklearnIntentClassifier: get_default_config (6 keys)
    "SklearnIntentClassifier": frozenset(
        {
            "C",
            "gamma",
            "kernels",
            "max_cross_validation_folds",
            "num_threads",
            "scoring_function",
        }
    ),
    # KeywordIntentClassifier: get_default_config (1 keys)
    "KeywordIntentClassifier": frozenset(
        {
            "case_sensitive",
        }
    ),
    # MitieIntentClassifier: get_default_config (1 keys)
    "MitieIntentClassifier": frozenset(
        {
            "num_threads",
        }
    ),
    # FallbackClassifier: get_default_config (2 keys)
    "FallbackClassifier": frozenset(
        {
            "ambiguity_threshold",
            "threshold",
        }
    ),
    # RegexEntityExtractor: get_default_config (4 keys)
    "RegexEntityExtractor": frozenset(
        {
            "case_sensitive",
            "use_lookup_tables",
            "use_regexes",
            "use_word_boundaries",
        }
    ),
    # CRFEntityExtractor: get_default_config (7 keys)
    "CRFEntityExtractor": frozenset(
        {
            "BILOU_flag",
            "features",
            "featurizers",
            "L1_c",
            "L2_c",
            "max_iterations",
            "split_entities_by_comma",
        }
    ),
    # EntitySynonymMapper: no get_default_config of its own; GraphComponent's returns {} (0 keys)
    "EntitySynonymMapper": frozenset(),
    # SpacyEntityExtractor: get_default_config (1 keys)
    "SpacyEntityExtractor": frozenset(
        {
            "dimensions",
        }
    ),
    # MitieEntityExtractor: get_default_config (1 keys)
    "MitieEntityExtractor": frozenset(
        {
            "num_threads",
        }
    ),
    # DucklingEntityExtractor: get_default_config (5 keys)
    "DucklingEntityExtractor": frozenset(
        {
            "dimensions",
            "locale",
            "timeout",
            "timezone",
            "url",
        }
    ),
    # ResponseSelector: DIETClassifier.get_default_config() + its own keys (50 keys)
    "ResponseSelector": frozenset(
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
            "retrieval_intent",
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
            "use_text_as_label",
            "use_value_relative_attention",
        }
    ),
    # SpacyNLP: get_default_config (1 keys)
    "SpacyNLP": frozenset(
        {
            "case_sensitive",
        }
    ),
    # MitieNLP: get_default_config (1 keys)
    "MitieNLP": frozenset(
        {
            "model",
        }
    ),
    # RulePolicy: own get_default_config (does not merge MemoizationPolicy's) + Policy base keys (9 keys);
    # max_history is accepted but RulePolicy.__init__ forces it to None
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
    # MemoizationPolicy: get_default_config + Policy base keys (5 keys)
    "MemoizationPolicy": frozenset(
        {
            "enable_feature_string_compression",
            "featurizer",
            "max_history",
            "priority",
            "use_nlu_confidence_as_score",
        }
    ),
    # AugmentedMemoizationPolicy: inherits MemoizationPolicy.get_default_config; + Policy base keys (5 keys)
    "AugmentedMemoizationPolicy": frozenset(
        {
            "enable_feature_string_compression",
            "featurizer",
            "max_history",
            "priority",
            "use_nlu_confidence_as_score",
        }
    ),
    # TEDPolicy: get_default_config + Policy base keys (52 keys)
    "TEDPolicy": frozenset(
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
            "drop_rate_dialogue",
            "drop_rate_label",
            "e2e_confidence_threshold",
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
            "maximum_negative_similarity",
            "maximum_positive_similarity",
            "model_confidence",
            "negative_margin_scale",
            "number_of_attention_heads",
            "number_of_negative_examples",
            "number_of_transformer_layers",
            "priority",
            "random_seed",
            "ranking_length",
            "regularization_constant",
            "renormalize_confidences",
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
            "use_maximum_negative_similarity",
            "use_sparse_input_dropout",
            "use_value_relative_attention",
        }
    ),
    # UnexpecTEDIntentPolicy: own get_default_config (does not merge TEDPolicy's) + Policy base keys (46 keys)
    "UnexpecTEDIntentPolicy": frozenset(
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
            "ignore_intents_list",
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
            "tolerance",
            "transformer_size",
            "unidirectional_encoder",
            "use_dense_input_dropout",
            "use_gpu",
            "use_key_relative_attention",
            "use_masked_language_model",
            "use_sparse_input_dropout",
            "use_value_relative_attention",
        }
    ),
}
